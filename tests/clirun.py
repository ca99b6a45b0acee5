"""Run ``shuzhi`` in the test's own process (its start-up imports are slow to repeat)."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

import pytest

from shuzhi.cli.main import main


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    monkeypatch.setattr(sys, "argv", ["shuzhi", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Run(code, out, err)


def free_port() -> int:
    """A port nothing listens on now (the system's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
