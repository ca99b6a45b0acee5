from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import update

from shuzhi.cli.main import main
from shuzhi.config import Settings
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord
from tests.platform.helpers import as_database_owner


def _env(settings: Settings) -> dict[str, str]:
    return {
        "SHUZHI_DATABASE_URL": settings.effective_database_url,
        "SHUZHI_DATA_DIR": str(settings.data_dir),
        "SHUZHI_CONFIG": str(settings.data_dir / "absent.toml"),
        "COLUMNS": "200",
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """Run ``shuzhi`` in this process (its start-up imports are slow to repeat)."""
    for name, value in _env(settings).items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["shuzhi", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def test_cli_manages_accounts_and_detects_tampering(
    cli: Callable[..., Run], db: Database, tmp_path: Path
) -> None:
    assert cli("departments", "create", "rsj", "人社局").returncode == 0
    created = cli("users", "create", "li", "--role", "reviewer@rsj")
    assert created.returncode == 0, created.stderr
    assert "一次性密码" in created.stdout
    listed = cli("users", "list")
    assert "复核人员@人社局（reviewer@rsj）" in listed.stdout

    both = cli("users", "grant", "li", "system_admin")
    assert both.returncode == 0
    refused = cli("users", "grant", "li", "audit_admin")
    assert refused.returncode == 2 and "三员" in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr

    assert cli("audit", "verify").returncode == 0
    out = tmp_path / "audit.csv"
    assert cli("audit", "export", "-o", str(out)).returncode == 0
    assert "role.grant" in out.read_text("utf-8-sig")

    with db.session() as session:
        as_database_owner(session)
        session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(actor="someone"))
    broken = cli("audit", "verify")
    assert broken.returncode == 1 and "断开" in broken.stdout

    too_soon = cli("audit", "prune", "--older-than-days", "30", "--yes")
    assert too_soon.returncode == 2 and "180" in too_soon.stderr


def test_cli_errors_are_one_line_without_traceback(settings: Settings, db: Database) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "users", "grant", "nobody", "viewer"],
        capture_output=True, text=True, env={**os.environ, **_env(settings)}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "用户 nobody 不存在" in result.stderr and "Traceback" not in result.stderr


def test_reviews_is_a_group_a_bare_call_shows_help_and_escalates_nothing(
    cli: Callable[..., Run], db: Database
) -> None:
    """`shuzhi reviews` used to be the escalate command itself (typer collapses a group of one
    command), so looking at its help escalated the whole overdue queue."""
    from datetime import timedelta

    from shuzhi.platform import review
    from shuzhi.storage.models import ReviewTask
    from tests.platform.helpers import department

    with db.session() as session:
        dept = department(session, "a")
        task = review.create_review_task(session, dept.id, "k", "s", 1, "t", {}, due_in_hours=1)
        task.due_at = utcnow() - timedelta(hours=2)
        task_id = task.id

    bare = cli("reviews")
    assert "escalate" in bare.stdout + bare.stderr and "status" in bare.stdout + bare.stderr
    with db.session() as session:
        assert session.get(ReviewTask, task_id).escalation_level == 0  # type: ignore[union-attr]

    assert "待复核 1，其中超期 1" in cli("reviews", "status").stdout
    escalated = cli("reviews", "escalate")
    assert escalated.returncode == 0 and "已升级 1 个超期任务" in escalated.stdout
    with db.session() as session:
        assert session.get(ReviewTask, task_id).escalation_level == 1  # type: ignore[union-attr]


def test_values_the_database_refuses_are_one_chinese_line_not_a_traceback(
    cli: Callable[..., Run], db: Database
) -> None:
    """A missing department, a number past 64 bits and a code longer than its column reached
    the database from the CLI and printed the driver's traceback."""
    missing = cli("kb", "create", "法规库", "--department-id", "999")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "引用的记录不存在" in missing.stderr

    huge = cli("jobs", "show", "99999999999999999999")
    assert huge.returncode == 2 and "Traceback" not in huge.stderr, huge.stderr

    long_code = cli("departments", "create", "d" * 500, "民政局")
    assert "Traceback" not in long_code.stderr
    if db.engine.dialect.name == "postgresql":  # SQLite has no column lengths
        assert long_code.returncode == 2 and "文字超过长度上限" in long_code.stderr
