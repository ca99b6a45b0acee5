import time
from datetime import date
from pathlib import Path

import pytest

from shuzhi.cn.calendar import WorkCalendar, default_calendar
from shuzhi.errors import InvalidInput


def test_statutory_holidays_and_adjusted_workdays() -> None:
    cal = WorkCalendar()
    assert not cal.is_working_day(date(2025, 10, 1))  # 国庆节
    assert cal.is_working_day(date(2025, 9, 28))  # a Sunday worked in lieu (调休)
    assert not cal.is_working_day(date(2025, 1, 29))  # 春节
    assert cal.is_working_day(date(2025, 1, 26))  # Sunday worked before 春节
    assert cal.is_working_day(date(2025, 3, 3))
    assert not cal.is_working_day(date(2025, 3, 1))  # plain Saturday


def test_first_counted_day_is_the_next_working_day() -> None:
    cal = WorkCalendar()
    # Accepted on Friday 2025-03-07: day 1 is Monday the 10th.
    assert cal.add_working_days(date(2025, 3, 7), 1).date == date(2025, 3, 10)
    assert cal.add_working_days(date(2025, 3, 7), 5).date == date(2025, 3, 14)
    # Accepted on Saturday: day 1 is still Monday.
    assert cal.add_working_days(date(2025, 3, 8), 1).date == date(2025, 3, 10)
    assert cal.add_working_days(date(2025, 3, 7), 0).date == date(2025, 3, 7)


def test_deadline_across_national_day() -> None:
    cal = WorkCalendar()
    due = cal.add_working_days(date(2025, 9, 30), 3)
    # 10-01..10-08 are off; 10-09, 10-10 work, 10-11 (Saturday) is a 调休 workday.
    assert due.date == date(2025, 10, 11)
    assert due.warnings == []


def test_counting_backwards() -> None:
    cal = WorkCalendar()
    assert cal.add_working_days(date(2025, 3, 10), -1).date == date(2025, 3, 7)


def test_working_days_between_is_inverse_of_add() -> None:
    cal = WorkCalendar()
    start = date(2025, 9, 20)
    for n in range(0, 40, 3):
        due = cal.add_working_days(start, n).date
        assert cal.working_days_between(start, due) == n
    assert cal.working_days_between(date(2025, 3, 14), date(2025, 3, 7)) == -5


def test_past_covered_years_falls_back_with_warning() -> None:
    cal = WorkCalendar()
    due = cal.add_working_days(date(2099, 9, 30), 1)
    assert due.date == date(2099, 10, 5)  # 10-01..10-03 fixed holidays, then 10-04 is Sunday
    assert len(due.warnings) == 1
    assert "2099年" in due.warnings[0] and "核对" in due.warnings[0]
    assert not cal.is_working_day(date(2099, 1, 1))
    assert not cal.is_working_day(date(2099, 5, 2))
    assert cal.is_working_day(date(2099, 5, 4))


def test_fallback_knows_spring_festival() -> None:
    cal = WorkCalendar()
    # 2030-02-03 is 正月初一 (a Sunday): 02-02 (除夕) to 02-05 are off.
    assert not cal.is_working_day(date(2030, 2, 4))
    assert not cal.is_working_day(date(2030, 2, 5))
    assert cal.is_working_day(date(2030, 2, 6))


def test_overrides_win() -> None:
    cal = WorkCalendar(extra_holidays={date(2025, 3, 10)}, extra_workdays={date(2025, 3, 8)})
    assert not cal.is_working_day(date(2025, 3, 10))
    assert cal.is_working_day(date(2025, 3, 8))
    assert cal.add_working_days(date(2025, 3, 7), 2).date == date(2025, 3, 11)


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("holidays: [2099-10-08, '2099-10-09']\nworkdays:\n  - 2099-10-10\n", "utf-8")
    cal = WorkCalendar.from_file(path)
    assert cal.extra_holidays == {date(2099, 10, 8), date(2099, 10, 9)}
    assert cal.is_working_day(date(2099, 10, 10))  # a Saturday made a workday


@pytest.mark.parametrize(
    "content", ["holidays: 2025-01-01\n", "holidays: [not-a-date]\n", "- 1\n", "holidays: [\n"]
)
def test_from_file_rejects_bad_content(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(content, "utf-8")
    with pytest.raises(InvalidInput) as err:
        WorkCalendar.from_file(path)
    assert "工作日历文件" in err.value.message


def test_from_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        WorkCalendar.from_file(tmp_path / "nope.yaml")


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()


def test_very_old_dates_do_not_crash() -> None:
    due = WorkCalendar().add_working_days(date(1990, 1, 1), 2)
    assert due.date == date(1990, 1, 3)
    assert due.warnings


def test_default_calendar_reads_overrides_from_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shuzhi.cn.calendar import OVERRIDES_FILE
    from shuzhi.config import get_settings

    (tmp_path / OVERRIDES_FILE).write_text("holidays: [2099-03-02]\n", "utf-8")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    default_calendar.cache_clear()
    try:
        assert not default_calendar().is_working_day(date(2099, 3, 2))
        assert default_calendar().is_working_day(date(2099, 3, 3))
    finally:
        get_settings.cache_clear()
        default_calendar.cache_clear()


def test_agrees_with_chinese_calendar_on_every_covered_day() -> None:
    import chinese_calendar

    cal = WorkCalendar()
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day = date.fromordinal(day.toordinal() + 1)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b"holidays: [2099-10-08\nworkdays: []\n",
            "YAML 格式错误，第 1 行第 11 列：从这里开始的方括号 [",
        ),
        (b"holidays:\n\t- 2099-10-08\n", "第 2 行第 1 列"),
        (b"holidays: [2099-02-30]\n", "holidays 的日期 '2099-02-30' 不存在或格式不对"),
        ("holidays: [2099-10-08]  # 国庆\n".encode("gbk"), "文字编码不是 UTF-8"),
    ],
)
def test_a_bad_overrides_file_is_one_chinese_line(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "cal.yaml"
    path.write_bytes(content)

    with pytest.raises(InvalidInput) as err:
        WorkCalendar.from_file(path)

    assert says in err.value.message and str(path) in err.value.message
    assert not any(word in str(err.value) for word in ("expected", "while", "codec", "must be"))


def test_an_empty_list_key_means_no_overrides(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("holidays:\nworkdays: [2099-10-10]\n", "utf-8")

    cal = WorkCalendar.from_file(path)

    assert cal.extra_holidays == set() and cal.extra_workdays == {date(2099, 10, 10)}


@pytest.mark.parametrize(("start", "n"), [(date(9999, 12, 1), 100), (date(1, 1, 5), -10)])
def test_a_deadline_past_the_calendar_is_refused_in_chinese(start: date, n: int) -> None:
    with pytest.raises(InvalidInput) as err:
        WorkCalendar().add_working_days(start, n)

    assert "超出了可计算的日期范围（公元 1—9999 年）" in err.value.message


def test_a_huge_count_is_refused_at_once() -> None:
    began = time.perf_counter()
    with pytest.raises(InvalidInput):
        WorkCalendar().add_working_days(date(2025, 1, 1), 10**9)
    assert time.perf_counter() - began < 1


def test_the_fallback_warning_says_when_spring_festival_is_not_counted() -> None:
    known = WorkCalendar().warnings_for(date(2030, 3, 1))[0]
    unknown = WorkCalendar().warnings_for(date(2099, 3, 1))[0]

    assert "元旦、春节、劳动节、国庆节" in known
    assert "未计春节" in unknown and "元旦、劳动节、国庆节" in unknown
