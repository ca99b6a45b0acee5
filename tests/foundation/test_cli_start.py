"""``shuzhi start`` and ``shuzhi serve`` as a newcomer meets them: a taken port, a second start."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.platform.identity import verify_password
from shuzhi.storage.db import Database
from shuzhi.storage.models import User
from tests.clirun import run_cli


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "start"])
def test_a_taken_port_fails_first_with_one_chinese_line(
    command: str,
    taken_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("SHUZHI_HOST", "127.0.0.1")
    monkeypatch.setenv("COLUMNS", "40")

    run = run_cli(monkeypatch, capsys, command, "--port", str(taken_port))

    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("错误：") and "--port" in lines[0] and str(taken_port) in lines[0]
    assert run.stdout == ""  # nothing was set up before the check: no admin, no job


def test_port_zero_is_refused_rather_than_read_as_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served on port 0"))

    run = run_cli(monkeypatch, capsys, "serve", "--port", "0")

    assert run.returncode == 2
    assert "端口 0 不在 1–65535 之间" in run.stderr


def test_a_second_start_keeps_the_administrator(
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUZHI_CONFIG", str(settings.data_dir / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COLUMNS", "40")  # narrower than the password line

    first = run_cli(monkeypatch, capsys, "start", "--no-demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    found = re.search(r"已创建管理员 admin，一次性密码 (\S+?)（", first.stdout)
    assert found, first.stdout
    with db.session() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and verify_password(admin.password_hash, found.group(1))

    second = run_cli(monkeypatch, capsys, "start", "--no-demo", "--no-serve")
    assert second.returncode == 0, second.stderr
    assert "一次性密码" not in second.stdout
    assert "已有账户" in second.stdout and "shuzhi users reset-password admin" in second.stdout
