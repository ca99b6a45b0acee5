"""``shuzhi employees``: list, show, apply, transition and chat, offline and with a model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from shuzhi.cli.employees import app
from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Conversation

from .surfaces import QUESTION, SOCIAL, add_model, definition_yaml, seed, write


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_apply_list_show_and_versions(env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path / "pension.yaml", definition_yaml("pension-helper"))

    created = run(env, "apply", str(path))
    unchanged = run(env, "apply", str(path))
    write(path, definition_yaml("pension-helper", greeting="您好！请说出您的参保年限。"))
    updated = run(env, "apply", str(path))
    listing = run(env, "list")
    as_json = json.loads(run(env, "list", "--json"))
    shown = run(env, "show", "pension-helper")
    shown_json = json.loads(run(env, "show", "pension-helper", "--json"))

    assert "已新建" in created and "第 1 版" in created
    assert "未变化" in unchanged and "第 1 版" in unchanged
    assert "第 2 版" in updated
    assert "pension-helper" in listing and "养老金计算助手" in listing and "草稿" in listing
    assert as_json == [
        {
            "id": "pension-helper",
            "name": "养老金计算助手",
            "department": "人力资源和社会保障局",
            "department_code": "hrss",
            "status": "draft",
            "status_label": "草稿",
            "version": 2,
        }
    ]
    assert "pension_estimate、handoff" in shown and "社会保险法规" in shown
    assert "v1 cli:" in shown and "v2 cli:" in shown
    assert shown_json["definition"]["greeting"] == "您好！请说出您的参保年限。"
    assert [v["version"] for v in shown_json["versions"]] == [1, 2]


def test_bad_files_are_one_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    bad = write(tmp_path / "bad.yaml", definition_yaml("pension-helper", department="HRSS!"))
    broken = write(tmp_path / "broken.yaml", "id: [unclosed\n")
    skill = write(tmp_path / "skill.yaml", definition_yaml("pension-helper", skills="[fly]"))

    results = [runner.invoke(app, ["apply", str(p)], env=env) for p in (bad, broken, skill)]
    missing = runner.invoke(app, ["apply", str(tmp_path / "none.yaml")], env=env)
    unknown = runner.invoke(app, ["show", "nobody"], env=env)

    errors = [r.exception for r in results]
    assert all(isinstance(e, InvalidInput) for e in errors), errors
    messages = [e.message for e in errors if isinstance(e, InvalidInput)]
    assert all("\n" not in m for m in messages)
    assert f"{bad}:3 字段 department.code" in messages[0]
    assert "broken.yaml YAML 格式错误：第 1 行第 5 列：从这里开始的方括号 [ 没有闭合" in messages[1]
    assert "skills.0" in messages[2] and "fly" in messages[2]
    assert isinstance(missing.exception, InvalidInput)
    assert isinstance(unknown.exception, NotFound)


def test_transitions_are_audited_and_the_gate_holds(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    run(env, "apply", str(write(tmp_path / "p.yaml", definition_yaml("pension-helper"))))
    runner = CliRunner()

    trial = run(env, "transition", "pension-helper", "trial", "--reason", "开始试用")
    gated = runner.invoke(
        app, ["transition", "pension-helper", "在岗", "--reason", "上岗"], env=env
    )
    no_reason = runner.invoke(app, ["transition", "pension-helper", "retired"], env=env)
    blank = runner.invoke(
        app, ["transition", "pension-helper", "retired", "--reason", " "], env=env
    )
    retired = run(env, "transition", "pension-helper", "retired", "--reason", "不再需要")

    assert "试用" in trial
    assert isinstance(gated.exception, Conflict) and "不能上岗" in gated.exception.message
    assert no_reason.exit_code == 2  # a usage error: --reason is required
    assert isinstance(blank.exception, InvalidInput)
    assert "退役" in retired
    with db.session() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "employee.lifecycle")
            .order_by(AuditRecord.id)
        ).all()
        seen = [(r.detail["to"], r.outcome, r.detail["reason"]) for r in records]
        assert all(r.actor.startswith("cli:") for r in records)
    assert seen == [
        ("trial", "success", "开始试用"),
        ("on_duty", "refused", "上岗"),
        ("retired", "success", "不再需要"),
    ]


def test_chat_offline_one_message_and_interactive(
    env: dict[str, str], db: Database, settings: Settings
) -> None:
    seed(db, settings, SOCIAL)

    once = run(env, "chat", SOCIAL, "--message", QUESTION)
    as_json = json.loads(run(env, "chat", SOCIAL, "-m", QUESTION, "--json"))
    session = run(env, "chat", SOCIAL, stdin=f"{QUESTION}\n\n转人工\n退出\n不会被读到\n")

    assert "第十六条" in once and "【AI辅助·离线】" in once
    assert "方式：离线" in once and "依据：《社会保险法》" in once
    assert as_json["mode"] == "offline" and as_json["sources"] and as_json["label"]
    assert "社保政策顾问" in session  # the greeting
    assert "第十六条" in session and "已为您转人工" in session and "复核任务：#" in session
    with db.session() as s:
        channels = s.scalars(select(Conversation.channel)).all()
    assert channels == ["cli", "cli", "cli"]


def test_chat_with_the_model_endpoint(
    env: dict[str, str], db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    seed(db, settings, SOCIAL)
    add_model(db, settings, scripted_model)
    scripted_model.push(Reply("累计缴费满十五年的，按月领取基本养老金。"))

    output = run(env, "chat", SOCIAL, "-m", QUESTION)

    assert "累计缴费满十五年的" in output and "【AI生成】" in output
    assert "方式：大模型" in output and "模型：deepseek-chat" in output
    assert scripted_model.chat_requests[-1]["messages"][-1]["content"] == QUESTION


def test_the_command_line_prints_one_line_errors_without_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = write(tmp_path / "bad.yaml", definition_yaml("pension-helper", department="HRSS!"))
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "employees", "apply", str(bad)],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("错误：") and f"{bad.name}:3 字段 department.code" in first
    assert "Traceback" not in result.stderr
