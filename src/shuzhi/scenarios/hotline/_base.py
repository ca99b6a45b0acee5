"""The base services the hotline uses, in one place: ``shuzhi.cn`` and ``shuzhi.privacy``."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from shuzhi.cn.calendar import default_calendar
from shuzhi.cn.encoding import decode_bytes
from shuzhi.cn.encoding import readable_name as _readable_name
from shuzhi.cn.text import clean_text, segment, tag
from shuzhi.privacy import mask, mask_for_display

__all__ = [
    "add_working_days",
    "clean_text",
    "decode_bytes",
    "mask",
    "mask_for_display",
    "mask_requester",
    "readable_name",
    "segment",
    "tag",
]


def add_working_days(start: date, days: int) -> tuple[date, list[str]]:
    due = default_calendar().add_working_days(start, days)
    return due.date, list(due.warnings)


def mask_requester(value: str | None) -> str | None:
    """A requester as shown in lists and exports: personal data masked, a user id half hidden."""
    if not value:
        return None
    shown = mask_for_display(value)
    if shown != value:
        return shown
    keep = max(1, len(value) // 4)
    return value[:keep] + "*" * max(1, len(value) - 2 * keep) + value[-keep:]


def readable_name(path: Path | str) -> str:
    """``path`` as text that can be stored, hashed and written to a file: a GBK name from a
    Windows zip (lone surrogates in Python) reads as its Chinese name, any other undecodable
    byte as U+FFFD (:func:`shuzhi.cn.encoding.readable_name`)."""
    return _readable_name(os.fsdecode(path))
