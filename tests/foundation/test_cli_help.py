"""Every `shuzhi … --help` page is Chinese: each command, argument and option says what it is
for in Chinese, and no sentence of typer's own English is left on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from shuzhi.cli.main import app
from tests.clirun import run_cli

CHINESE = re.compile("[\u3400-\u9fff]")
# Four English words in a row is a sentence (typer's "Show this message and exit."); option
# names, codes and "JSON Lines" are shorter, and hyphens do not join words here.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){3,}")


def _commands() -> Iterator[tuple[tuple[str, ...], Any, list[Any]]]:
    """Every command under `shuzhi`: its path, its click command and its parameters."""
    root = typer.main.get_command(app)
    stack = [((), root, root.context_class(root, info_name="shuzhi"))]
    while stack:
        path, command, ctx = stack.pop()
        yield path, command, command.get_params(ctx)  # what the page shows, --help included
        for name in getattr(command, "list_commands", lambda _: [])(ctx):
            sub = command.get_command(ctx, name)
            stack.append(((*path, name), sub, sub.context_class(sub, parent=ctx, info_name=name)))


def test_every_help_page_is_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per option: no sentence split by wrapping
    commands = list(_commands())
    problems: list[str] = []
    for path, command, params in commands:
        where = " ".join(("shuzhi", *path))
        if not CHINESE.search(command.help or ""):
            problems.append(f"{where}: {command.help!r}")
        for param in params:
            if not CHINESE.search(getattr(param, "help", None) or ""):
                problems.append(f"{where} {param.name}: {getattr(param, 'help', None)!r}")
        page = run_cli(monkeypatch, capsys, *path, "--help")
        if page.returncode != 0:
            problems.append(f"{where} --help: exit {page.returncode} {page.stderr}")
        shown = [p for p in params if getattr(p, "help", None) and not getattr(p, "hidden", False)]
        problems += [
            f"{where} {p.name}: not shown whole" for p in shown if p.help not in page.stdout
        ]
        lines = [line for line in page.stdout.splitlines() if "Usage:" not in line]
        problems += [
            f"{where} --help: {line.strip()}" for line in lines if ENGLISH_SENTENCE.search(line)
        ]

    assert len(commands) > 80 and any(
        path == ("scenarios", "pack", "import") for path, _, _ in commands
    )
    assert problems == []
