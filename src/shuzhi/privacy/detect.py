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

from shuzhi.cn.ids import (
    PLATE_PATTERN,
    PLATE_PROVINCES,
    is_valid_id_number,
    luhn_ok,
    parse_id_number,
)
from shuzhi.cn.regions import is_known_province
from shuzhi.errors import InvalidInput
from shuzhi.privacy.spans import PiiKind, PiiSpan

__all__ = ["FULL_WIDTH_FOLD", "Detector", "Rule"]

FULL_WIDTH_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH_RE = re.compile("[\uff0b\uff0d\uff10-\uff19\uff20-\uff3a\uff41-\uff5a]")

# A digit item may not touch another digit or a Latin letter: those are order numbers, tracking
# numbers and codes. After a decimal point it is the fraction of an amount.
# Each pattern opens with a lookahead on its first character: Python's regex engine then skips
# ahead with a fast character scan instead of testing the lookbehinds at every position (~8x).
_OPEN = r"(?=[0-9+(（])(?<![0-9A-Za-z])(?<!\d\.)(?<![¥￥$])"
_CLOSE = r"(?![0-9A-Za-z])"
# Followed by a unit it is an amount or a quantity, not a phone or a card.
_NOT_AMOUNT = r"(?!\s?(?:元|块|万|亿|美元|千克|公斤|吨|米|%|％))"

_AREA = r"0(?:10|2\d|[3-9]\d{2})"

_EMAIL = (
    r"(?=[A-Za-z0-9])(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![A-Za-z0-9])"
)
_ID = (
    _OPEN
    + r"\d{6}[ ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ ]?\d{3}[\dXx]"
    + _CLOSE
)
# What may stand between a word such as 电话 and the number it announces: 号码, 是, a colon.
_LEAD = r"(?:号码|号)?(?:是|为)?[\s:：]{0,3}"
# Right after a word that announces an ID number two more forms are taken: legacy 15-digit
# numbers, which have no check digit, and 18-character numbers whose check digit is wrong but
# whose province and birth date are real. A mistyped ID number still identifies its holder and
# is sensitive personal information (PIPL Art. 28), so it must not leave for a model; without
# the word such a number stays alone, because case and serial numbers are also built from a
# region code and a date.
_ID_WORDS = r"(?:身份证|证件|公民身份号码|身份号码)"
_ID_AFTER_WORD = (
    _ID_WORDS
    + _LEAD
    + r"(?P<value>(?<![0-9A-Za-z])(?:\d{6}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    r"|\d{6}[ ]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ ]?\d{3}[\dXx]))" + _CLOSE
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
# A local number without its area code is only taken right after a word that announces a phone.
_PHONE_WORDS = "电话|座机|固话|传真|热线|分机|办公室"
_LOCAL_LANDLINE = (
    rf"(?:{_PHONE_WORDS})"
    + _LEAD
    + r"(?P<value>(?<![0-9A-Za-z])[2-9]\d{6,7})"
    + _CLOSE
    + _NOT_AMOUNT
)
# A second local number listed after a full or an announced one: 0735-2178591、2178592.
_LISTED_LOCAL = (
    rf"(?=[电座固传热分办0])(?:(?:{_PHONE_WORDS}){_LEAD}|(?<![0-9A-Za-z]){_AREA}[ -]?)"
    r"[2-9]\d{6,7}[、/或]\s?"
    r"(?P<value>[2-9]\d{6,7})" + _CLOSE + _NOT_AMOUNT
)
_LANDLINE_PARTS = re.compile(rf"[(（]?(?P<area>{_AREA})[)）]?[ -]?(?P<local>\d+)")
_PLATE = rf"(?=[{PLATE_PROVINCES}])(?<![A-Za-z0-9])" + PLATE_PATTERN + r"(?![A-Za-z0-9])"
# Passport numbers look like product codes, so they are taken only right after the word 护照.
_PASSPORT = (
    r"护照" + _LEAD + r"(?P<value>(?<![A-Za-z0-9])(?:E[A-HJ-NP-Z]\d{7}|[EGDSP]\d{8}))" + _CLOSE
)

# Issuer identification ranges seen on cards in China: UnionPay 62 and 60, 9558/9559 debit cards,
# Visa 4, Mastercard 51-55 and 2221-2720, JCB 35.
_BIN_RE = re.compile(r"62|60|9558|9559|4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|35")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _bank_ok(value: str) -> bool:
    digits = _digits(value)
    if not (16 <= len(digits) <= 19 and _BIN_RE.match(digits) and luhn_ok(digits)):
        return False
    return not _id_shaped(digits)


def _id_shaped(number: str) -> bool:
    # An 18-digit number with a province code and a real birth date is an ID number with a
    # mistyped check digit far more often than one of the rare 18-digit cards.
    if len(number) != 18 or not is_known_province(number):
        return False
    return parse_id_number(number).birth_date is not None


def _id_ok(value: str) -> bool:
    return is_valid_id_number(value.replace(" ", ""))


def _id_after_word_ok(value: str) -> bool:
    number = value.replace(" ", "")
    return _id_ok(number) if len(number) == 15 else _id_shaped(number)


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
    in_zones: bool = False  # only ever matches inside a digit zone (see ``_ZONE``)


_PRIORITY = {kind: rank for rank, kind in enumerate(PiiKind)}
_PRIORITY[PiiKind.EMAIL] = -1


def builtin_rules() -> list[Rule]:
    return [
        Rule(PiiKind.EMAIL, re.compile(_EMAIL)),
        Rule(PiiKind.ID_NUMBER, re.compile(_ID), _id_ok, in_zones=True),
        Rule(PiiKind.ID_NUMBER, re.compile(_ID_AFTER_WORD), _id_after_word_ok),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_PLAIN), _bank_ok, in_zones=True),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_GROUPED), _bank_ok, in_zones=True),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_GROUPED_TAIL), _bank_ok, in_zones=True),
        Rule(PiiKind.BANK_CARD, re.compile(_BANK_SIX_THIRTEEN), _bank_ok, in_zones=True),
        Rule(PiiKind.MOBILE, re.compile(_MOBILE), in_zones=True),
        Rule(PiiKind.LANDLINE, re.compile(_LANDLINE), _landline_ok, in_zones=True),
        Rule(PiiKind.LANDLINE, re.compile(_LOCAL_LANDLINE)),
        Rule(PiiKind.LANDLINE, re.compile(_LISTED_LOCAL)),
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


# A digit zone: a maximal run of the characters a phone, card or ID number can be written with.
# Every zoned rule starts at a zone-opening character and stays inside one zone, and the
# shortest zoned item has 11 digits, so zoned rules run only on the few zones that long (most
# Chinese text has none) plus a few characters of context for their lookarounds.
_ZONE = re.compile(r"[0-9+(（][0-9+()（） \-转ext.Xx]{10,}")
_ZONE_MIN_DIGITS = 11
_NOT_DIGIT = re.compile(r"\D")
_ZONE_CONTEXT = 4


def _zones(probe: str) -> Iterable[tuple[int, int]]:
    for zone in _ZONE.finditer(probe):
        if len(_NOT_DIGIT.sub("", zone.group())) >= _ZONE_MIN_DIGITS:
            yield zone.start(), zone.end()


class Detector:
    """Runs a set of rules over text and returns non-overlapping items in text order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self.zoned = [rule for rule in self.rules if rule.in_zones]
        self.unzoned = [rule for rule in self.rules if not rule.in_zones]

    def detect(self, text: str) -> list[PiiSpan]:
        # Full-width digits and letters (１３８…) are folded one-for-one, so positions still
        # match ``text`` and the values are reported as written.
        probe = text.translate(FULL_WIDTH_FOLD) if _FULL_WIDTH_RE.search(text) else text
        candidates = [span for rule in self.unzoned for span in _find(rule, probe, text)]
        if self.zoned:
            for start, end in _zones(probe):
                lo, hi = max(0, start - _ZONE_CONTEXT), end + _ZONE_CONTEXT
                for rule in self.zoned:
                    candidates.extend(_find(rule, probe, text, lo, hi))
        candidates.sort(key=lambda s: (s.start - s.end, _PRIORITY[s.kind], s.start))
        return _non_overlapping(candidates)


def _find(
    rule: Rule, probe: str, text: str, lo: int = 0, hi: int | None = None
) -> Iterable[PiiSpan]:
    has_value = "value" in rule.pattern.groupindex
    window = probe if lo == 0 and hi is None else probe[lo:hi]
    for match in rule.pattern.finditer(window):
        start, end = match.span("value") if has_value else match.span()
        start, end = start + lo, end + lo
        if end > start and (rule.check is None or rule.check(probe[start:end])):
            yield PiiSpan(rule.kind, start, end, text[start:end], rule.name)


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
