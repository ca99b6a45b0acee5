"""Personal data never reaches a log line (PIPL Art. 51; GB/T 35273-2020 §6.3).

The platform's own code logs codes and counts, not contents. What it cannot control is what
other code puts into a record: a DuckDB error quoting the row that failed, a traceback's
exception message, uvicorn's access line with a query string (``/console/workorders?q=1380013…``).
:func:`install` wraps the log record factory, so every record any logger creates — ours,
uvicorn's, SQLAlchemy's, a library's — has the personal data in its message, its arguments and
its traceback masked for display (``138****5678``) before any handler formats it.

Arguments are masked one by one and keep their places, so formatters that read ``record.args``
(uvicorn's access formatter unpacks them) keep working; numbers are left as they are.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from shuzhi.privacy.masking import mask_for_display

_INSTALLED = "_shuzhi_masks_pii"


def install() -> None:
    """Mask personal data in every log record from now on (idempotent)."""
    base = logging.getLogRecordFactory()
    if getattr(base, _INSTALLED, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return masked(base(*args, **kwargs))

    setattr(factory, _INSTALLED, True)
    logging.setLogRecordFactory(factory)


def masked(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with personal data masked in its message, arguments and traceback."""
    if isinstance(record.msg, str):
        record.msg = _mask_text(record.msg)
    else:
        record.msg = _mask_value(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {key: _mask_value(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_mask_value(value) for value in record.args)
    if record.exc_info and record.exc_info[0] is not None:
        # Formatted now, masked, and kept as the record's exception text: formatters use a
        # record's exc_text when it is set instead of formatting the exception again.
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = mask_for_display(text)
    if record.stack_info:
        record.stack_info = mask_for_display(record.stack_info)
    return record


def _mask_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    hidden = _mask_text(text)
    return value if hidden == text else hidden


def _mask_text(text: str) -> str:
    """``text`` masked; an address is read decoded (``%E7%94%B5%E8%AF%9D13812345678`` is
    电话13812345678 to the detector) and, when it held personal data, logged decoded."""
    hidden = mask_for_display(text)
    if "%" in text:
        decoded = unquote(text)
        masked = mask_for_display(decoded)
        if masked != decoded:
            return masked
    return hidden
