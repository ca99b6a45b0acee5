"""Command-line usage errors in Chinese (``Missing argument 'name'.`` → ``缺少参数 'name'。``).

typer parses the command line with its own copy of click, whose messages are English f-strings,
and prints them in a panel (``typer.rich_utils.rich_format_error``). :func:`install` wraps that
printer so the message is translated first: the usual mistakes by pattern, keeping what click
filled in (a parameter's name, the value typed); a message no pattern knows is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer.rich_utils

_VALUE_PROBLEMS = (  # what typer's coercion says about a value, after "Invalid value for …:"
    (re.compile(r"Input should be a valid integer.*"), "应为整数"),
    (re.compile(r"Input should be less than or equal to (.+)"), r"应不大于 \1"),
    (re.compile(r"Input should be greater than or equal to (.+)"), r"应不小于 \1"),
    (re.compile(r"Input should be less than (.+)"), r"应小于 \1"),
    (re.compile(r"Input should be greater than (.+)"), r"应大于 \1"),
    (re.compile(r"Input should be a valid number.*"), "应为数字"),
    (re.compile(r"Input should be a valid boolean.*"), "应为 true 或 false"),
    (re.compile(r"Value (.+) is not a valid (\w+)"), r"\1 不是有效的值（应为 \2）"),
    (re.compile(r"'?(.+?)'? is not one of (.+)"), r"\1 不在可选值中：\2"),
    (re.compile(r"(.+) is not in the range (.+)"), r"\1 不在范围 \2 内"),
    (re.compile(r"(File|Directory|Path) (.+) does not exist"), r"\2 不存在"),
    (re.compile(r"(File|Directory|Path) (.+) is a directory"), r"\2 是文件夹，不是文件"),
    (re.compile(r"(File|Directory|Path) (.+) is a file"), r"\2 是文件，不是文件夹"),
)
_MESSAGES = (
    (re.compile(r"Missing argument (.+)\.", re.S), r"缺少参数 \1。"),
    (re.compile(r"Missing option (.+)\.", re.S), r"缺少选项 \1。"),
    (re.compile(r"Missing parameter: (.+)", re.S), r"缺少参数：\1"),
    (re.compile(r"Missing command\."), "缺少子命令。"),
    (re.compile(r"No such command (.+)\."), r"没有命令 \1。"),
    (
        re.compile(r"No such option: (\S+)\s+\(Possible options: (.+)\)", re.S),
        r"没有选项 \1（可用：\2）。",
    ),
    (re.compile(r"No such option: (\S+)(?:\s+Did you mean (.+)\?)?", re.S), r"没有选项 \1。"),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)", re.S), r"多余的参数（\1）"),
    (re.compile(r"Option (.+) requires (.+)\."), r"选项 \1 需要一个值。"),
    (re.compile(r"Option (.+) does not take a value\."), r"选项 \1 不带值。"),
    (re.compile(r"Could not open file (.+): (.+)", re.S), r"无法打开文件 \1：\2"),
)
_INVALID = re.compile(r"Invalid value(?: for (.+?))?: (.+)", re.S)
_SUGGESTION = re.compile(r"Did you mean (.+)\?")


def translate(message: str) -> str:
    """``message`` (one usage error) in Chinese, or as it is when no pattern knows it."""
    text = message.strip()
    invalid = _INVALID.fullmatch(text)
    if invalid:
        where, problem = invalid.groups()
        problem = problem.strip().removeprefix("Value error, ").rstrip(".")  # ours, or pydantic
        for pattern, replacement in _VALUE_PROBLEMS:
            if pattern.fullmatch(problem):
                problem = pattern.sub(replacement, problem)
                break
        return f"{where} 的取值无效：{problem}" if where else f"取值无效：{problem}"
    for pattern, replacement in _MESSAGES:
        if pattern.fullmatch(text):
            translated = pattern.sub(replacement, text)
            suggestion = _SUGGESTION.search(text)
            return translated + (f"是否想输入 {suggestion.group(1)}？" if suggestion else "")
    return message


def _in_chinese(printer: Callable[[Any], None]) -> Callable[[Any], None]:
    def print_error(error: Any) -> None:
        english = error.format_message
        error.format_message = lambda: translate(english())
        printer(error)

    print_error.shuzhi_chinese = True  # type: ignore[attr-defined]
    return print_error


def install() -> None:
    """Usage errors in Chinese from now on (idempotent)."""
    printer = typer.rich_utils.rich_format_error
    if not getattr(printer, "shuzhi_chinese", False):
        typer.rich_utils.rich_format_error = _in_chinese(printer)  # type: ignore[assignment]
