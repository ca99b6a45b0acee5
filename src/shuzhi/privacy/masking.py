"""Reversible masking before text leaves for a model, irreversible masking for display.

PIPL Art. 28 counts financial accounts and whereabouts as sensitive personal information (and
GB/T 35273-2020 Annex B identity-document numbers); Art. 51(3) names de-identification among
the security measures a processor takes. So before a prompt goes to a model endpoint outside
the trust boundary each item is replaced by a placeholder such as 〔手机号1〕; the :class:`Vault`
that remembers the originals stays inside and restores them in the model's answer. The same
value gets the same placeholder for the whole conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from shuzhi.errors import InvalidInput
from shuzhi.privacy.detect import FULL_WIDTH_FOLD, Detector, builtin_rules, custom_rule
from shuzhi.privacy.spans import PiiKind, PiiSpan

__all__ = [
    "CLOSE_BRACKETS",
    "OPEN_BRACKETS",
    "Masker",
    "Vault",
    "count_pii",
    "default_masker",
    "detect",
    "mask",
    "mask_for_display",
]

# Brackets a model may put around an echoed placeholder; the gateway's stream unmasker uses them.
OPEN_BRACKETS = _OPEN_BRACKETS = "〔[【(（［"
CLOSE_BRACKETS = _CLOSE_BRACKETS = "〕]】)）］"


def _placeholder(label: str, number: int) -> str:
    return f"〔{label}{number}〕"


def _value_key(span: PiiSpan) -> str:
    # The same phone written as +86 138-1234-5678 and 13812345678 is one person's number.
    value = span.value.translate(FULL_WIDTH_FOLD)
    if span.kind in (PiiKind.MOBILE, PiiKind.BANK_CARD, PiiKind.LANDLINE, PiiKind.ID_NUMBER):
        value = re.sub(r"[^0-9Xx]", "", value).upper()
        if span.kind is PiiKind.MOBILE:
            value = value[-11:]
    elif span.kind in (PiiKind.EMAIL, PiiKind.PLATE, PiiKind.PASSPORT):
        value = re.sub(r"[\s·•]", "", value).upper()
    return f"{span.label}:{value}"


@dataclass(repr=False)
class Vault:
    """Placeholders and the values they stand for, kept for one conversation.

    Never send a vault to a model or write it to a log: it holds the personal data itself (its
    ``repr`` shows only the placeholders, so an accidental log line leaks nothing).
    """

    values: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"Vault({', '.join(self.values)})"

    def placeholder_for(self, span: PiiSpan) -> str:
        """The placeholder for ``span``'s value, creating the next numbered one if new."""
        key = _value_key(span)
        existing = self.keys.get(key)
        if existing is not None:
            return existing
        number = self.counters.get(span.label, 0) + 1
        self.counters[span.label] = number
        placeholder = _placeholder(span.label, number)
        self.keys[key] = placeholder
        self.values[placeholder] = span.value
        return placeholder

    def unmask(self, text: str) -> str:
        """Put the original values back, also where a model wrote [手机号1] or 〔 手机号 1 〕."""
        if not self.values:
            return text
        return _echo_pattern(frozenset(self.counters)).sub(self._restore, text)

    def _restore(self, match: re.Match[str]) -> str:
        placeholder = _placeholder(match["label"], int(match["number"]))
        return self.values.get(placeholder, match.group())

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": dict(self.values),
            "keys": dict(self.keys),
            "counters": dict(self.counters),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vault:
        try:
            return cls(
                values={str(k): str(v) for k, v in data["values"].items()},
                keys={str(k): str(v) for k, v in data["keys"].items()},
                counters={str(k): int(v) for k, v in data["counters"].items()},
            )
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise InvalidInput(
                "脱敏映射数据损坏：应包含 values、keys、counters 三项",
                hint="请使用 Vault.to_dict() 的结果",
            ) from exc


@lru_cache(maxsize=256)
def _echo_pattern(labels: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(
        rf"[{re.escape(_OPEN_BRACKETS)}]\s*(?P<label>{alternatives})\s*(?P<number>\d+)\s*"
        rf"[{re.escape(_CLOSE_BRACKETS)}]"
    )


class Masker:
    """Detects personal data with the built-in rules plus ``extra_patterns`` (name → regex)."""

    def __init__(
        self,
        extra_patterns: dict[str, str] | None = None,
        kinds: Iterable[PiiKind] | None = None,
    ) -> None:
        wanted = set(kinds) if kinds is not None else set(PiiKind)
        rules = [rule for rule in builtin_rules() if rule.kind in wanted]
        rules += [custom_rule(name, regex) for name, regex in (extra_patterns or {}).items()]
        self.detector = Detector(rules)

    def detect(self, text: str) -> list[PiiSpan]:
        return self.detector.detect(text)

    def mask(self, text: str, vault: Vault | None = None) -> tuple[str, Vault]:
        """Replace every item by its placeholder; pass the returned vault to the next turn."""
        vault = vault if vault is not None else Vault()
        return _replace(text, self.detect(text), vault.placeholder_for), vault

    def mask_for_display(self, text: str) -> str:
        """Irreversibly hide the middle of each item, for pages, exports and logs."""
        return _replace(text, self.detect(text), display_form)

    def count(self, text: str) -> dict[PiiKind, int]:
        counts = dict.fromkeys(PiiKind, 0)
        for span in self.detect(text):
            counts[span.kind] += 1
        return counts


def _replace(text: str, spans: list[PiiSpan], render: Callable[[PiiSpan], str]) -> str:
    parts: list[str] = []
    position = 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(render(span))
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def display_form(span: PiiSpan) -> str:
    """The partly hidden form of one item: 138****5678, 370102********123X, 鲁A****5."""
    return _DISPLAY[span.kind](span.value)


def _keep(value: str, head: int, tail: int) -> str:
    hidden = max(len(value) - head - tail, 1)
    return value[:head] + "*" * hidden + (value[-tail:] if tail else "")


def _display_mobile(value: str) -> str:
    digits = re.sub(r"\D", "", value)[-11:]
    return digits[:3] + "****" + digits[-4:]


def _display_bank(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def _display_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def _display_landline(value: str) -> str:
    match = re.match(r"(?P<area>[(（]?0\d{2,3}[)）]?[ -]?)(?P<local>\d+)(?P<rest>.*)", value)
    if match is None:
        return _keep(value, 0, 4)
    return match["area"] + _keep(match["local"], 0, 4) + match["rest"]


def _display_plate(value: str) -> str:
    return _keep(re.sub(r"[\s·•]", "", value), 2, 1)


_DISPLAY: dict[PiiKind, Callable[[str], str]] = {
    PiiKind.ID_NUMBER: lambda v: _keep(v.replace(" ", ""), 6, 4),
    PiiKind.MOBILE: _display_mobile,
    PiiKind.LANDLINE: _display_landline,
    PiiKind.BANK_CARD: _display_bank,
    PiiKind.EMAIL: _display_email,
    PiiKind.PLATE: _display_plate,
    PiiKind.PASSPORT: lambda v: _keep(v, 1, 2),
    PiiKind.CUSTOM: lambda v: _keep(v, 1, 0),
}


@cache
def default_masker() -> Masker:
    """The masker with the built-in rules only."""
    return Masker()


def detect(text: str) -> list[PiiSpan]:
    """Items of personal data in ``text``, in order, not overlapping."""
    return default_masker().detect(text)


def mask(text: str, vault: Vault | None = None) -> tuple[str, Vault]:
    """``Masker().mask`` with the built-in rules."""
    return default_masker().mask(text, vault)


def mask_for_display(text: str) -> str:
    """``Masker().mask_for_display`` with the built-in rules."""
    return default_masker().mask_for_display(text)


def count_pii(text: str) -> dict[PiiKind, int]:
    """How many items of each kind ``text`` holds (every kind present, zero when absent)."""
    return default_masker().count(text)
