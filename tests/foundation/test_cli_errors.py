"""Our own refusals in the CLI are one Chinese line, not click's English usage errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.clirun import run_cli


@pytest.fixture(autouse=True)
def _empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody at the terminal to answer


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "delete", "policies"),
        ("audit", "prune", "--older-than-days", "400"),
    ],
)
def test_a_destructive_command_without_yes_is_refused_in_one_chinese_line(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, *args)

    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and lines[0].startswith("错误：") and "--yes" in lines[0], run.stderr
    assert "Invalid value" not in run.stderr and "Aborted" not in run.stderr + run.stdout
