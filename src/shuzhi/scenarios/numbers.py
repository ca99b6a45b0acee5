"""Numbers as a clerk types them: plain decimals, thousands separators, full-width digits.

Python's ``int()`` and ``float()`` accept far more than a clerk means: "4_3" is 43 to them,
"1e5" is a hundred thousand, "nan" and "inf" are numbers. Here a number is an optional sign,
digits (either all together or grouped by three with commas, "8000" or "8,000"), and an
optional decimal part (".5" too). Full-width digits and punctuation from a Chinese input
method count as their ASCII twins.
"""

from __future__ import annotations

import math
import re

# Amounts and counts past this are typing mistakes, and would overflow the rule arithmetic.
MAX_NUMBER = 1e15

_FULL_WIDTH = str.maketrans("０１２３４５６７８９，．－＋", "0123456789,.-+")
_PLAIN = re.compile(r"[+-]?(?:(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?|\.[0-9]+)")
# More digits than any number under MAX_NUMBER needs (with its decimals); past it, say "too large"
# without handing thousands of digits to int().
_MOST_DIGITS = 40


class NotANumber(ValueError):
    """The value is not written as a plain decimal number."""


class TooLarge(ValueError):
    """The value is a number whose size is past :data:`MAX_NUMBER`."""


def parse_number(raw: object) -> int | float:
    """``raw`` (a JSON number or text) as a number; whole numbers come back as ``int``."""
    if isinstance(raw, bool):
        raise NotANumber(raw)
    if isinstance(raw, int | float):
        number: int | float = raw
    elif isinstance(raw, str):
        number = _from_text(raw)
    else:
        raise NotANumber(raw)
    if isinstance(number, float) and not math.isfinite(number):
        raise NotANumber(raw)
    if abs(number) > MAX_NUMBER:
        raise TooLarge(raw)
    return int(number) if number == int(number) else number


def _from_text(raw: str) -> int | float:
    text = raw.strip().translate(_FULL_WIDTH)
    if not _PLAIN.fullmatch(text):
        raise NotANumber(raw)
    text = text.replace(",", "")
    if len(text.split(".")[0].lstrip("+-").lstrip("0")) > _MOST_DIGITS:
        raise TooLarge(raw)
    return float(text) if "." in text else int(text)
