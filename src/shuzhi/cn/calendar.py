"""Working days for statutory deadlines (办理时限).

Statutory holidays and the adjusted working weekends (调休) come from the ``chinese_calendar``
package, which follows the State Council's yearly notice. For a year the package does not cover,
the calendar falls back to weekends plus the fixed-date holidays and Spring Festival, and says so
in ``DueDate.warnings`` so a person checks the deadline against the published notice. Operators
can load the new year's notice as overrides (``WorkCalendar.from_file``) before the package ships.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from shuzhi.config import get_settings
from shuzhi.errors import InvalidInput, os_error_zh, yaml_error_zh

__all__ = ["OVERRIDES_FILE", "DueDate", "WorkCalendar", "default_calendar"]

logger = logging.getLogger(__name__)

_logged_years: set[int] = set()


@dataclass
class DueDate:
    """A computed deadline and any reason to double-check it."""

    date: date
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Fallback:
    fixed: frozenset[tuple[int, int]]
    spring_festival: dict[int, date]

    def holidays(self, year: int) -> set[date]:
        days = {date(year, m, d) for m, d in self.fixed}
        new_year = self.spring_festival.get(year)
        if new_year is not None:
            # 除夕 (the eve) through 正月初三.
            days |= {new_year + timedelta(days=k) for k in range(-1, 3)}
        return days


@cache
def _fallback() -> _Fallback:
    raw = resources.files("shuzhi.cn").joinpath("data/fallback_holidays.yaml").read_text("utf-8")
    data = yaml.safe_load(raw)
    return _Fallback(
        fixed=frozenset((int(x["month"]), int(x["day"])) for x in data["fixed"]),
        spring_festival={int(y): d for y, d in data["spring_festival"].items()},
    )


@cache
def _covered_years() -> tuple[int, int]:
    # The same range chinese_calendar validates against: the years of its holiday table.
    years = [d.year for d in chinese_calendar.constants.holidays]
    return min(years), max(years)


def _statutory_workday(d: date) -> bool:
    # chinese_calendar.is_workday scans its whole table for the valid range on every call
    # (~130 µs); the same rule on its tables directly is a dictionary lookup.
    if d in chinese_calendar.constants.workdays:
        return True
    return d.weekday() < 5 and d not in chinese_calendar.constants.holidays


class WorkCalendar:
    """Mainland working days: statutory holidays, adjusted workdays and local overrides."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.extra_holidays: set[date] = set(extra_holidays)
        self.extra_workdays: set[date] = set(extra_workdays)

    @classmethod
    def from_file(cls, path: str | Path) -> WorkCalendar:
        """Load overrides from YAML with ``holidays: [YYYY-MM-DD, ...]`` and ``workdays: [...]``."""
        path = Path(path)
        try:
            # Every value read as text: _dates names a date that does not exist (2027-02-30),
            # which PyYAML's own date reading would refuse in English with no place given.
            data = yaml.load(path.read_text("utf-8"), Loader=yaml.BaseLoader) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InvalidInput(
                f"无法读取工作日历文件 {path}：{_reason(exc)}",
                hint="文件应为 UTF-8 编码的 YAML，包含 holidays: 和 workdays: 两个日期列表",
            ) from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"工作日历文件 {path} 的顶层应为映射（holidays:、workdays:）")
        holidays = _dates(data.get("holidays"), path, "holidays")
        workdays = _dates(data.get("workdays"), path, "workdays")
        return cls(extra_holidays=holidays, extra_workdays=workdays)

    def is_working_day(self, d: date) -> bool:
        """True when government offices work on ``d``."""
        return self._check(d, warnings=None)

    def add_working_days(self, start: date, n: int) -> DueDate:
        """The date ``n`` working days after ``start``; the first counted day is the first
        working day after ``start`` (the day of acceptance is not counted). Negative ``n``
        counts backwards. ``n == 0`` returns ``start`` itself."""
        warnings: list[str] = []
        step = 1 if n >= 0 else -1
        current, remaining = start, abs(n)
        # n working days span at least n calendar days: past the calendar's end, refuse at once.
        room = (date.max - start).days if step > 0 else (start - date.min).days
        try:
            if remaining > room:
                raise OverflowError
            while remaining:
                current += timedelta(days=step)
                if self._check(current, warnings):
                    remaining -= 1
        except OverflowError:
            raise InvalidInput(
                f"从 {start.isoformat()} 起算 {n} 个工作日，超出了可计算的日期范围"
                f"（公元 {date.min.year}—{date.max.year} 年）",
                hint="请检查起算日期和工作日数",
            ) from None
        return DueDate(date=current, warnings=warnings)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the interval (a, b]; negative when ``b`` is before ``a``.

        ``working_days_between(s, add_working_days(s, n).date) == n`` for every n >= 0.
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        current = a
        while current < b:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count

    def warnings_for(self, d: date) -> list[str]:
        """The warnings a deadline on ``d`` would carry (empty when the year is covered)."""
        warnings: list[str] = []
        self._check(d, warnings)
        return warnings

    def _check(self, d: date, warnings: list[str] | None) -> bool:
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        first, last = _covered_years()
        if first <= d.year <= last:
            return _statutory_workday(d)
        if warnings is not None:
            _warn_uncovered(d.year, warnings)
        return d.weekday() < 5 and d not in _fallback().holidays(d.year)


def _warn_uncovered(year: int, warnings: list[str]) -> None:
    festivals = sorted(_fallback().spring_festival)
    counted = (
        "元旦、春节、劳动节、国庆节"
        if year in _fallback().spring_festival
        else f"元旦、劳动节、国庆节（春节日期只收录了 {festivals[0]}—{festivals[-1]} 年，未计春节）"
    )
    message = (
        f"{year}年的法定节假日和调休安排不在节假日数据范围内"
        f"（{'—'.join(map(str, _covered_years()))}年），本期限按周末及{counted}"
        "的法定日期估算，未计调休，请以国务院办公厅公布的放假安排核对"
    )
    if message not in warnings:
        warnings.append(message)
    if year not in _logged_years:
        _logged_years.add(year)
        logger.warning("holiday data does not cover %d; deadlines there are estimated", year)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return os_error_zh(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "文字编码不是 UTF-8，请另存为 UTF-8"
    return f"YAML 格式错误，{yaml_error_zh(exc)}"


def _dates(value: Any, path: Path, key: str) -> set[date]:
    if value is None or value == "":  # the key absent, or given with nothing after it
        return set()
    if not isinstance(value, list):
        raise InvalidInput(f"工作日历文件 {path} 中 {key} 应为日期列表，例如 [2027-01-01]")
    result: set[date] = set()
    for item in value:
        try:
            result.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise InvalidInput(
                f"工作日历文件 {path} 中 {key} 的日期 {item!r} 不存在或格式不对",
                hint="日期格式应为 YYYY-MM-DD，如 2027-10-08",
            ) from exc
    return result


OVERRIDES_FILE = "calendar.yaml"


@cache
def default_calendar() -> WorkCalendar:
    """The shared calendar, with the overrides in ``<data_dir>/calendar.yaml`` when present.

    An operator puts the State Council's holiday notice for a year the ``chinese_calendar``
    package does not cover yet into that file (``holidays:`` / ``workdays:`` lists); call
    ``default_calendar.cache_clear()`` or restart to pick up a change.
    """
    path = get_settings().data_dir / OVERRIDES_FILE
    if path.is_file():
        logger.info("working-day overrides loaded from %s", path)
        return WorkCalendar.from_file(path)
    return WorkCalendar()
