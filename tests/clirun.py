"""Run ``shuzhi`` in the test's own process (its start-up imports are slow to repeat)."""

from __future__ import annotations

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
