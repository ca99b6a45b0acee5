"""`shuzhi jobs` names job kinds by their title (the console's words too), records
`cli:<login>`, and explains bad JSON."""

from __future__ import annotations

import io
import os

import pytest
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.jobs import get_kind
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.clirun import run_cli
from tests.platform.helpers import PASSWORD, user


@pytest.fixture(autouse=True)
def _terminal(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOGNAME", "wang")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_a_job_run_here_is_listed_by_title_and_submitted_by_the_login(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_cli(monkeypatch, capsys, "jobs", "run", "review.escalate")
    listed = run_cli(monkeypatch, capsys, "jobs", "list")

    assert ran.returncode == 0, ran.stderr
    assert "复核任务超期升级（review.escalate）" in listed.stdout
    assert "cli:wang" in listed.stdout
    # Times as the console shows them: Beijing time, and the table says so.
    from shuzhi.cn.clock import local_time
    from shuzhi.jobs import list_jobs
    from shuzhi.storage.db import Database

    [job] = list_jobs(Database(os.environ["SHUZHI_DATABASE_URL"]), limit=1)
    assert "创建时间（北京时间）" in listed.stdout
    assert local_time(job.created_at, with_seconds=True) in listed.stdout


def test_params_that_are_not_json_are_explained_in_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, "jobs", "run", "review.escalate", "--params", "{items: 3}")

    assert run.returncode == 2
    assert "--params 不是合法的 JSON：第 1 行第 2 列：键名须用英文双引号括起来" in run.stderr


def test_the_terminal_the_api_and_the_console_name_a_kind_alike(
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind = get_kind("review.escalate")
    with db.session() as session:
        user(session, "root", (Role.SYSTEM_ADMIN, None))
    run_cli(monkeypatch, capsys, "jobs", "run", kind.name)
    kinds = run_cli(monkeypatch, capsys, "jobs", "kinds")
    client = TestClient(create_app(settings, db))
    form = {"username": "root", "password": PASSWORD, "next": "/console/"}
    assert client.post("/console/login", data=form, follow_redirects=False).status_code == 303

    listed = {k["name"]: k["title"] for k in client.get("/api/jobs/kinds").json()}
    chinese = client.get("/console/jobs").text
    client.cookies.set("shuzhi_lang", "en")
    english = client.get("/console/jobs").text

    assert kind.title == "复核任务超期升级" and kind.title_en == "Review escalation"
    assert kind.title in kinds.stdout
    assert listed and all(title == get_kind(name).label() for name, title in listed.items())
    assert f'{kind.title} <code class="muted">{kind.name}</code>' in chinese
    assert f'{kind.title_en} <code class="muted">{kind.name}</code>' in english
