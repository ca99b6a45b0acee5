"""Finding personal data in free text.

Each kind is a regular expression for candidates plus, where the identifier has one, the check
that proves it (ID check digit, Luhn). A digit string is never cut out of a longer run of digits
or letters, so order numbers and timestamps are not taken apart. Where two candidates overlap the
longer one wins, and at equal length the more specific kind (ID number before bank card).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shuzhi.cn.ids import PLATE_PATTERN, is_valid_id_number, luhn_ok
from shuzhi.errors import InvalidInput
from shuzhi.privacy.spans import PiiKind, PiiSpan

__all__ = ["Detector", "Rule"]

# A digit item may not touch another digit or a Latin letter: those are order numbers, tracking
# numbers and codes. After a decimal point it is the fraction of an amount.
_OPEN = r"(?<![0-9A-Za-z])(?<!\d\.)(?<![¥￥$])"
_CLOSE = r"(?![0-9A-Za-z])"
# Followed by a unit it is an amount or a quantity, not a phone or a card.
_NOT_AMOUNT = r"(?!\s?(?:元|块|万|亿|美元|千克|公斤|吨|米|%|％))"

_AREA = r"0(?:10|2\d|[3-9]\d{2})"

_EMAIL = (
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![A-Za-z0-9])"
)
_ID = (
    _OPEN
    + r"\d{6}[ ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ ]?\d{3}[\dXx]"
    + _CLOSE
)
_BANK_PLAIN = _OPEN + r"\d{16,19}" + _CLOSE + _NOT_AMOUNT
_BANK_GROUPED = _OPEN + r"\d{4}(?:[ -]\d{4}){3}" + _CLOSE + _NOT_AMOUNT
_BANK_GROUPED_TAIL = _OPEN + r"\d{4}(?:[ -]\d{4}){3}[ -]\d{1,3}" + _CLOSE + _NOT_AMOUNT
_BANK_SIX_THIRTEEN = _OPEN + r"\d{6}[ -]\d{10,13}" + _CLOSE + _NOT_AMOUNT
_MOBILE = _OPEN + r"(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _CLOSE + _NOT_AMOUNT
_LANDLINE = (
    _OPEN
    + rf"(?:[(（]{_AREA}[)）][ -]?|{_AREA}[ -]?)[2-9]\d{{6,7}}(?:(?:-|转|ext\.?)\d{{1,5}})?"
    + _CLOSE
    + _NOT_AMOUNT
)
_LANDLINE_PARTS = re.compile(rf"[(（]?(?P<area>{_AREA})[)）]?[ -]?(?P<local>\d+)")
_PLATE = r"(?<![A-Za-z0-9])" + PLATE_PATTERN + r"(?![A-Za-z0-9])"
# Passport numbers look like product codes, so they are taken only right after the word 护照.
_PASSPORT = (
    r"护照[^0-9A-Za-z\n]{0,8}?(?P<value>(?<![A-Za-z0-9])(?:E[A-HJ-NP-Z]\d{7}|[EGDSP]\d{8}))"
    + _CLOSE
)

# Issuer identification ranges seen on cards in China: UnionPay 62 and 60, 9558/9559 debit cards,
# Visa 4, Mastercard 51-55 and 2221-2720, JCB 35.
_BIN_RE = re.compile(r"62|60|9558|9559|4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|35")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _bank_ok(value: str) -> bool:
    digits = _digits(value)
    return 16 <= len(digits) <= 19 and bool(_BIN_RE.match(digits)) and luhn_ok(digits)


def _id_ok(value: str) -> bool:
    return is_valid_id_number(value.replace(" ", ""))


def _landline_ok(value: str) -> bool:
    # Beijing (010) and the 02x cities have eight-digit local numbers; elsewhere seven or eight.
    parts = _LANDLINE_PARTS.match(value)
    if parts is None:
        return False
    return len(parts["local"]) == 8 or len(parts["area"]) == 4


@dataclass(frozen=True)
class Rule:
    """How one kind of item is found: candidates by ``pattern``, kept when ``check`` passes."""

    kind: PiiKind
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    name: str = ""


_PRIORITY = {kind: rank for rank, kind in enumerate(PiiKind)}
_PRIORITY[PiiKind.EMAIL] = -1


def builtin_rules() -> list[Rule]:
    return [
        Rule(PiiKind.EMAIL, re.compile(_EMAIL)),
        Rule(PiiKind.ID_NUMBER, re.compile(_ID), _id_ok),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_PLAIN), _bank_ok),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_GROUPED), _bank_ok),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_GROUPED_TAIL), _bank_ok),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_SIX_THIRTEEN), _bank_ok),
        Rule(PiiKind.MOBILE, re.compile(_MOBILE)),
        Rule(PiiKind.LANDLINE, re.compile(_LANDLINE), _landline_ok),
        Rule(PiiKind.PLATE, re.compile(_PLATE)),
        Rule(PiiKind.PASSPORT, re.compile(_PASSPORT)),
    ]


def custom_rule(name: str, regex: str) -> Rule:
    """A configured pattern; a named group ``value`` narrows the item inside the match."""
    if not name.strip():
        raise InvalidInput("自定义脱敏规则的名称不能为空", hint="例如 {'工号': 'GH\\\\d{6}'}")
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise InvalidInput(
            f"自定义脱敏规则“{name}”的正则表达式有误：{exc}", hint=f"请修改表达式 {regex!r}"
        ) from exc
    if pattern.fullmatch(""):
        raise InvalidInput(
            f"自定义脱敏规则“{name}”会匹配空字符串",
            hint=f"请修改表达式 {regex!r}，使其至少匹配一个字符",
        )
    return Rule(PiiKind.CUSTOM, pattern, name=name.strip())


class Detector:
    """Runs a set of rules over text and returns non-overlapping items in text order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)

    def detect(self, text: str) -> list[PiiSpan]:
        candidates = [span for rule in self.rules for span in _find(rule, text)]
        candidates.sort(key=lambda s: (s.start - s.end, _PRIORITY[s.kind], s.start))
        return _non_overlapping(candidates)


def _find(rule: Rule, text: str) -> Iterable[PiiSpan]:
    has_value = "value" in rule.pattern.groupindex
    for match in rule.pattern.finditer(text):
        start, end = match.span("value") if has_value else match.span()
        value = text[start:end]
        if end > start and (rule.check is None or rule.check(value)):
            yield PiiSpan(rule.kind, start, end, value, rule.name)


def _non_overlapping(candidates: list[PiiSpan]) -> list[PiiSpan]:
    starts: list[int] = []
    chosen: list[PiiSpan] = []
    for span in candidates:
        i = bisect.bisect_right(starts, span.start)
        if i > 0 and chosen[i - 1].end > span.start:
            continue
        if i < len(chosen) and chosen[i].start < span.end:
            continue
        starts.insert(i, span.start)
        chosen.insert(i, span)
    return chosen
