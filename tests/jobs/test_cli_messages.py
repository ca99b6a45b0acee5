"""`shuzhi jobs` names job kinds by their title, records `cli:<login>`, and explains bad JSON."""

from __future__ import annotations

import io

import pytest

from tests.clirun import run_cli


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


def test_params_that_are_not_json_are_explained_in_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, "jobs", "run", "review.escalate", "--params", "{items: 3}")

    assert run.returncode == 2
    assert "--params 不是合法的 JSON：第 1 行第 2 列：键名须用英文双引号括起来" in run.stderr
