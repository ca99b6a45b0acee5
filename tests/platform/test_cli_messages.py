"""The operator's terminal: role names in Chinese, `users key role@部门`, one audit actor for every
command, and the commands of docs/platform.md working as written."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.platform.roles import ROLE_LABELS_ZH, Role
from shuzhi.scenarios import load_catalogue
from shuzhi.scenarios.hotline.demo import write_sample
from shuzhi.storage.db import Database
from shuzhi.storage.models import ApiKey, AuditRecord, Department
from tests.clirun import Run, run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "platform.md"
SCENARIO = "approval.business-registration-precheck"
Cli = Callable[..., Run]


@pytest.fixture(autouse=True)
def _terminal(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOGNAME", "wang")  # the login name getpass reads first
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody at the terminal to answer
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Run:
        result = run_cli(monkeypatch, capsys, *args)
        assert result.returncode == 0, f"shuzhi {' '.join(args)}: {result.stderr}"
        return result

    return run


def test_roles_are_listed_by_name_with_the_code_to_type(cli: Cli, db: Database) -> None:
    cli("departments", "create", "jyj", "市教育局")
    created = cli("users", "create", "li", "--role", "reviewer@jyj", "--role", "viewer")
    granted = cli("users", "grant", "li", "operator@jyj")
    listed = cli("users", "list")
    revoked = cli("users", "revoke", "li", "viewer")

    assert "角色：复核人员@市教育局（reviewer@jyj），只读人员（viewer）" in created.stdout
    assert "已授予 li：业务人员@市教育局（operator@jyj）" in granted.stdout
    assert "复核人员@市教育局（reviewer@jyj）" in listed.stdout
    assert "已收回 li：只读人员（viewer）" in revoked.stdout


def test_an_unknown_role_lists_the_roles_by_name_with_the_code_to_type(
    cli: Cli, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("users", "create", "li")

    refused = run_cli(monkeypatch, capsys, "users", "grant", "li", "reviwer")

    assert refused.returncode == 2
    assert "错误：未知角色：reviwer" in refused.stderr
    choices = "、".join(f"{label}（{role.value}）" for role, label in ROLE_LABELS_ZH.items())
    assert f"提示：可选：{choices}" in refused.stderr
    assert "复核人员（reviewer）" in choices and len(ROLE_LABELS_ZH) == len(Role)


def test_users_key_takes_role_at_department_like_users_create(cli: Cli, db: Database) -> None:
    cli("departments", "create", "jyj", "市教育局")

    issued = cli("users", "key", "intake", "--role", "operator@jyj", "--role", "viewer")

    assert (
        "角色：业务人员@市教育局（operator@jyj），只读人员@市教育局（viewer@jyj）" in issued.stdout
    )
    with db.session() as session:
        key = session.scalars(select(ApiKey).where(ApiKey.name == "intake")).one()
        dept = session.scalars(select(Department).where(Department.code == "jyj")).one()
        assert key.department_id == dept.id and key.scopes == ["operator", "viewer"]


def test_a_key_in_two_departments_is_refused(
    cli: Cli, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("departments", "create", "jyj", "市教育局")
    cli("departments", "create", "mzj", "市民政局")

    refused = run_cli(
        monkeypatch, capsys, "users", "key", "k", "--role", "operator@jyj", "--department", "mzj"
    )

    assert refused.returncode == 2
    assert "一个 API 密钥只能属于一个部门，却给了 jyj、mzj" in refused.stderr
    with db.session() as session:
        assert session.scalars(select(ApiKey)).all() == []


def test_every_command_records_the_same_actor(cli: Cli, db: Database, tmp_path: Path) -> None:
    history, messages = write_sample(tmp_path / "sample")
    inputs = tmp_path / "input.json"
    cases = load_catalogue().get(SCENARIO).cases
    inputs.write_text(json.dumps(cases[0].inputs, ensure_ascii=False, default=str), "utf-8")
    (tmp_path / "t.csv").write_text("区,留言数\n历下区,3\n", "utf-8")

    cli("departments", "create", "jyj", "市教育局")
    cli("users", "key", "etl", "--role", "viewer")
    cli("audit", "export", "-o", str(tmp_path / "audit.csv"))
    cli("scenarios", "run", SCENARIO, "-i", str(inputs), "--store")
    cli("hotline", "run", str(messages), "--history", str(history), "--out", str(tmp_path / "out"))
    cli("data", "register", str(tmp_path / "t.csv"))

    with db.session() as session:
        records = session.execute(
            select(AuditRecord.action, AuditRecord.actor).where(AuditRecord.actor_kind == "user")
        ).all()
    actions = {action for action, _ in records}
    assert {"department.create", "apikey.create", "audit.export", "hotline.batch"} <= actions
    assert any(a.startswith("scenario") for a in actions) and "data.register" in actions
    assert {actor for _, actor in records} == {"cli:wang"}  # not `cli` nor `start`


def _documented_commands() -> list[list[str]]:
    """The `shuzhi …` commands of the Operating section, `;`-separated ones apart."""
    section = DOCS.read_text("utf-8").split("## Operating", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    commands = []
    for line in block.group(1).splitlines():
        for part in line.split("#", 1)[0].split(";"):
            if part.strip():
                commands.append(shlex.split(part)[1:])
    return commands


def test_the_operating_commands_in_the_docs_run_as_written(cli: Cli, db: Database) -> None:
    commands = _documented_commands()
    assert ["audit", "prune", "--older-than-days", "365", "--yes"] in commands

    for args in commands:
        if args != ["serve"]:  # it would not return; its first start is tested elsewhere
            cli(*args)


def test_an_export_to_a_missing_folder_is_refused_in_one_line(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "没有的文件夹" / "audit.csv"

    run = run_cli(monkeypatch, capsys, "audit", "export", "-o", str(target))

    assert run.returncode == 2
    assert f"无法写入 {target}：所在文件夹不存在" in run.stderr and "Traceback" not in run.stderr
