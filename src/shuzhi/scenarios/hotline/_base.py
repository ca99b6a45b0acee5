"""The few base services the hotline needs, taken from ``shuzhi.cn`` and ``shuzhi.privacy``.

Those packages are the one home of Chinese text rules and masking. While they are being written,
the minimal fallbacks below keep the hotline runnable; each is used only when the shared function
cannot be imported, and the shared one wins as soon as it lands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import rjieba

_SPACE = re.compile(r"(?:_x000D_|[\s\u3000\xa0\u200b\ufeff])+")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_CARD = re.compile(r"(?<!\d)\d{16,19}(?!\d)")


def _fallback_clean(text: str) -> str:
    # Scraped cells start with runs of "\n\t"; Excel exports carry literal "_x000D_".
    return _SPACE.sub(" ", text).strip()


def _fallback_segment(text: str) -> list[str]:
    return [w for w in rjieba.cut(text) if w.strip()]


def _fallback_mask(text: str) -> str:
    text = _ID.sub(lambda m: m.group()[:6] + "********" + m.group()[-4:], text)
    text = _CARD.sub(lambda m: m.group()[:4] + "*" * (len(m.group()) - 8) + m.group()[-4:], text)
    return _PHONE.sub(lambda m: m.group()[:3] + "****" + m.group()[-4:], text)


def _fallback_display(value: str) -> str:
    if len(value) <= 2:
        return value[:1] + "*"
    keep = max(1, len(value) // 4)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def _fallback_add_working_days(start: date, days: int) -> date:
    from chinese_calendar import is_workday

    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        try:
            working = is_workday(current)
        except NotImplementedError:  # years the calendar package does not cover yet
            working = current.weekday() < 5
        if working:
            left -= 1
    return current


def _resolve(module: str, name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    try:
        mod = __import__(module, fromlist=[name])
        found: Callable[..., Any] = getattr(mod, name)
        return found
    except (ImportError, AttributeError):
        return fallback


clean_text: Callable[[str], str] = _resolve("shuzhi.cn.text", "clean_text", _fallback_clean)
segment: Callable[[str], list[str]] = _resolve("shuzhi.cn.text", "segment", _fallback_segment)
mask_for_display: Callable[[str], str] = _resolve(
    "shuzhi.privacy", "mask_for_display", _fallback_display
)


def mask_text(text: str) -> str:
    """Mask personal data before text is stored, shown or sent to a model endpoint."""
    try:
        from shuzhi.privacy import Masker
    except ImportError:
        return _fallback_mask(text)
    masked, _vault = Masker().mask(text)
    return str(masked)


def add_working_days(start: date, days: int) -> date:
    try:
        from shuzhi.cn.calendar import default_calendar
    except ImportError:
        return _fallback_add_working_days(start, days)
    due = default_calendar().add_working_days(start, days)
    return date.fromisoformat(str(getattr(due, "date", due)))


def decode_bytes(raw: bytes) -> str:
    try:
        from shuzhi.cn.encoding import decode_bytes as shared
    except ImportError:
        return _fallback_decode(raw)
    decoded = shared(raw)
    return str(getattr(decoded, "text", decoded))


def _fallback_decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise UnicodeDecodeError("unknown", raw[:16], 0, 1, "无法识别文件编码")
    return str(best)
