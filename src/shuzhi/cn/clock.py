"""Times as people here read them: in the deployment's zone, Beijing time (Asia/Shanghai).

Times are stored in UTC; every surface a person reads (console pages, the hotline workbook and
report) shows them in this zone and says so, so a time copied out of one is never taken for
another zone's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
ZONE_ZH = "北京时间"


def local_time(value: datetime | None, with_seconds: bool = False, zone: str = "") -> str:
    """``value`` in the deployment's zone; ``zone`` (its name) is appended when given."""
    if value is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    shown = value.astimezone(CHINA).strftime(fmt)
    return f"{shown} ({zone})" if zone else shown


def local_iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in the deployment's zone, with its offset (``…+08:00``)."""
    return value.astimezone(CHINA).isoformat() if value is not None else None


def read_as_local(value: datetime) -> datetime | None:
    """``value`` as a moment: a time without a zone is read as Beijing time (what a person
    here means by it). None when it cannot be a moment (0001-01-01 in Beijing is before the
    first moment a UTC time can hold)."""
    zoned = value if value.tzinfo is not None else value.replace(tzinfo=CHINA)
    try:
        return zoned.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
