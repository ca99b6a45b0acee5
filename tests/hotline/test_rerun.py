"""Running a file again writes its orders as the database holds them (on every database).

The first run stores the orders and their review tasks; a reviewer decides some; the second run
skips the known orders, and its workbook, JSON Lines and summary show the reviewer's decisions,
not the second run's fresh proposals, so the files agree with the console.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from shuzhi.cn.clock import CHINA
from shuzhi.config import Settings
from shuzhi.platform import review
from shuzhi.platform.identity import create_user, principal_for_user
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.decisions import hotline_department
from shuzhi.scenarios.hotline.outputs import STATUS_ZH
from shuzhi.scenarios.hotline.service import run_batch
from shuzhi.storage.db import Database
from shuzhi.storage.models import ReviewTask, WorkOrder
from tests.clirun import run_cli

REVIEWER = "dispatcher-wang"
EVERYTHING_WAITS = "0.999"  # no proposal is that sure: every order goes to review
OUTCOME_ZH = {"accepted": "已采纳", "edited": "已修改采纳", "rejected": "已退回"}


def _sheet(path: Path, name: str = "工单") -> list[dict[str, Any]]:
    rows = list(load_workbook(path, read_only=True)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _jsonl(path: Path) -> dict[str, dict[str, Any]]:
    lines = path.read_text("utf-8").splitlines()
    return {row["code"]: row for row in map(json.loads, lines)}


def _decide_three(db: Database) -> dict[str, str]:
    """Accept, edit and reject the first three review tasks as a named reviewer; their codes."""
    with db.session() as session:
        user = create_user(
            session, REVIEWER, "password-123", [(Role.REVIEWER, hotline_department(session).id)]
        )
        reviewer = principal_for_user(session, user)
        first, second, third = list(session.scalars(select(ReviewTask).order_by(ReviewTask.id)))[:3]
        other = next(
            c for c, _ in second.proposal["candidates"] if c != second.proposal["category"]
        )
        review.decide(session, first.id, reviewer, "accept")
        review.decide(
            session, second.id, reviewer, "edit", reason="按内容改派",
            edited={**second.proposal, "category": other},
        )  # fmt: skip
        review.decide(session, third.id, reviewer, "reject", reason="涉及多个部门")
        codes = (first.subject_id, second.subject_id, third.subject_id)
    return dict(zip(("accepted", "edited", "rejected"), codes, strict=True))


def test_a_rerun_writes_the_reviewers_decisions_not_its_fresh_proposals(
    settings: Settings,
    db: Database,
    env: dict[str, str],
    sample_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history, messages = sample_files
    first = run_batch(
        settings, messages, history=history, out_dir=settings.data_dir / "first", db=db,
        threshold=float(EVERYTHING_WAITS),
    )  # fmt: skip
    assert first.summary()["to_review"] == len(first.orders) == 80
    codes = _decide_three(db)

    # The second run through the command a clerk types, on the same database.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = settings.data_dir / "second"
    run = run_cli(
        monkeypatch, capsys, "hotline", "run", str(messages), "--history", str(history),
        "--out", str(out), "--threshold", EVERYTHING_WAITS,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "80 张此前已导入、未重复写入" in run.stdout
    assert "人工已复核" in run.stdout and "3 张，其中 1 张退回人工派单" in run.stdout
    assert "2 / 77" in run.stdout  # dispatched (accepted, edited) / still waiting

    with db.session() as session:
        stored = {o.code: o for o in session.scalars(select(WorkOrder))}
        decided_at = {
            t.subject_id: t.decided_at
            for t in session.scalars(select(ReviewTask).where(ReviewTask.decided_at.is_not(None)))
        }
    assert len(stored) == 80

    sheet = {row["工单编号"]: row for row in _sheet(out / "workorders.xlsx")}
    lines = _jsonl(out / "workorders.jsonl")
    assert set(sheet) == set(lines) == set(stored)
    # Every row, decided or not, says what the database says.
    for code, order in stored.items():
        row, line = sheet[code], lines[code]
        assert (row["分类"], row["承办单位"]) == (order.category, order.handling_unit)
        assert row["状态"] == STATUS_ZH[order.status]
        assert (line["category"], line["handling_unit"]) == (order.category, order.handling_unit)
        assert (line["status"], line["decided_by"]) == (order.status, order.decided_by)
    for outcome, code in codes.items():
        row, line, order = sheet[code], lines[code], stored[code]
        at = decided_at[code]
        assert at is not None
        assert (row["决定方"], row["复核人"]) == ("人工", REVIEWER)
        assert row["复核结果"] == OUTCOME_ZH[outcome]
        assert row["复核时间(北京时间)"] == at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        assert line["decided_by"] == "human" and line["decision"]["by"] == REVIEWER
        assert line["decision"]["at"].endswith("+08:00")
    assert sheet[codes["rejected"]]["状态"] == "待人工派单"
    assert lines[codes["accepted"]]["status"] == lines[codes["edited"]]["status"] == "dispatched"
    proposed = {o.code: o.dispatch.category for o in first.orders}
    assert lines[codes["edited"]]["category"] != proposed[codes["edited"]]
    undecided = next(c for c in stored if c not in codes.values())
    assert (sheet[undecided]["决定方"], sheet[undecided]["复核人"]) == ("AI建议", None)

    about = dict(
        (row[0], row[1])
        for row in load_workbook(out / "workorders.xlsx", read_only=True)["说明"].iter_rows(
            min_row=2, values_only=True
        )
    )
    assert (about["待人工复核"], about["人工已决定派单"]) == ("77", "3")
    assert "80 张工单此前已导入" in about["重复导入"]
    report = (out / "report.html").read_text("utf-8")
    assert "人工已决定派单" in report

    # The first run's files were written before anyone decided: they show the proposals.
    before = _jsonl(settings.data_dir / "first" / "workorders.jsonl")
    assert {r["decided_by"] for r in before.values()} == {"ai"}
