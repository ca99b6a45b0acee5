"""Checks every edge applies to the words it takes in: HTTP schemas, CLI arguments, definitions.

A control character in a name is never what the clerk meant (it comes from a paste or a broken
client), and PostgreSQL refuses NUL in text outright. Invisible characters are worse: "admin"
with a zero-width space inside looks like "admin" on screen, so an account, a department or a
knowledge base could be made to pass for another one. The two kinds of words follow two rules:

* A name (``Name``: a username, a code, a title) holds only visible characters. Refused: every
  control character (C0, DEL and the C1 range U+0080–U+009F), every format character (Unicode
  category Cf: zero-width space and joiners, the direction marks, overrides and isolates, the
  byte-order mark, the soft hyphen, the word joiner …), the line and paragraph separators
  U+2028/U+2029, and a name made of nothing but white space.
* Free text (``Text``: a description, a reason, a question) keeps the tab and the line breaks
  (LF, CR, U+2028, U+2029), and keeps the zero-width joiners and the direction marks, which real
  text needs (emoji sequences, mixed Arabic or Hebrew quotes). It refuses the other control
  characters and the bidirectional embedding, override and isolate controls (U+202A–U+202E,
  U+2066–U+2069): they reorder what the reader sees, so a reviewer could approve words that do
  not say what they appear to say.

Every refusal names the character, its place and what it is, in Chinese.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from shuzhi.errors import InvalidInput

_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NOT_IN_NAME = frozenset({"Cc", "Cf", "Zl", "Zp"})

_WHAT = {
    "\u00ad": "软连字符",
    "\u061c": "阿拉伯字母标记",
    "\u180e": "蒙古文元音分隔符",
    "\u200b": "零宽空格",
    "\u200c": "零宽非连接符",
    "\u200d": "零宽连接符",
    "\u200e": "从左到右标记",
    "\u200f": "从右到左标记",
    "\u2028": "行分隔符",
    "\u2029": "段分隔符",
    "\u202a": "从左到右嵌入",
    "\u202b": "从右到左嵌入",
    "\u202c": "方向格式结束",
    "\u202d": "从左到右覆盖",
    "\u202e": "从右到左覆盖",
    "\u2060": "词连接符",
    "\u2066": "从左到右隔离",
    "\u2067": "从右到左隔离",
    "\u2068": "首强字符隔离",
    "\u2069": "方向隔离结束",
    "\ufeff": "字节顺序标记",
}


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` as a name (or, ``multiline``, as free text), else None."""
    if multiline:
        found = _IN_TEXT.search(value)
        return None if found is None else _describe(found.group(), found.start())
    if not value.isprintable():
        for place, char in enumerate(value):
            if unicodedata.category(char) in _NOT_IN_NAME:
                return _describe(char, place)
    if value and not value.strip():
        return "不能只含空白字符，请填写实际内容"
    return None


def _describe(char: str, place: int) -> str:
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char) == "Cc":
        return f"不能含控制字符（第 {place + 1} 个字符是 {code}），请删去后重试"
    what = _WHAT.get(char, "格式字符")
    return f"不能含不可见字符（第 {place + 1} 个字符是 {code} {what}），请删去后重试"


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
        raise PydanticCustomError("unwanted_character", problem)
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A name, code or id: visible characters only, not white space alone."""

Text = Annotated[str, AfterValidator(_text)]
"""Free text (a description, a reason, a message): tabs, line breaks and joiners allowed."""
