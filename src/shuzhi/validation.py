"""Checks every edge applies to the words it takes in: HTTP schemas, CLI arguments, definitions.

A control character in a name is never what the clerk meant (it comes from a paste or a broken
client), and PostgreSQL refuses NUL in text outright. So names (``Name``) hold no control
character at all, and free text (``Text``) keeps only the tab and the line breaks.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from shuzhi.errors import InvalidInput

_IN_NAME = re.compile("[\x00-\x1f\x7f]")
_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value``'s first control character, or None when it has none."""
    found = (_IN_TEXT if multiline else _IN_NAME).search(value)
    if found is None:
        return None
    code = f"U+{ord(found.group()):04X}"
    return f"不能含控制字符（第 {found.start() + 1} 个字符是 {code}），请删去后重试"


def check_name(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or :class:`InvalidInput` naming ``field`` (for CLI arguments)."""
    problem = control_problem(value, multiline=multiline)
    if problem is not None:
        raise InvalidInput(f"{field}{problem}")
    return value


def _name(value: str) -> str:
    return _refuse(value, multiline=False)


def _text(value: str) -> str:
    return _refuse(value, multiline=True)


def _refuse(value: str, *, multiline: bool) -> str:
    problem = control_problem(value, multiline=multiline)
    if problem is not None:
        raise PydanticCustomError("control_character", problem)
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A name, code or id: printable characters only."""

Text = Annotated[str, AfterValidator(_text)]
"""Free text (a description, a reason, a message): tabs and line breaks allowed."""
