"""Benchmark: the Chinese base helpers other packages call in bulk.

Run from the repository root::

    .venv/bin/python bench/privacy_cn.py [--runs 5]

Reports the median of ``--runs`` CPU-time measurements (``time.process_time``) for identifier
parsing, deadlines, decoding, clean-up and segmentation. Text figures use the real hotline
messages when ``../shared/data`` is present and generated text otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from shuzhi.cn.calendar import WorkCalendar
from shuzhi.cn.encoding import decode_bytes
from shuzhi.cn.ids import id_check_digit, parse_credit_code, parse_id_number
from shuzhi.cn.text import clean_text, segment, segment_for_search
from shuzhi.privacy.evalset import generate

HOTLINE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hotline"


def median_seconds(work: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.process_time()
        work()
        timings.append(time.process_time() - start)
    return statistics.median(timings)


def corpus() -> tuple[str, bytes]:
    path = HOTLINE / "messages_labelled.csv"
    if path.exists():
        return "hotline messages_labelled.csv", path.read_bytes()
    text = "\n".join(case.text for case in generate(20000, seed=1))
    return "generated cases", text.encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    ids = [
        f"3701021990{m:02d}{d:02d}{s:03d}"
        for m in range(1, 13)
        for d in range(1, 29)
        for s in (1, 2, 3)
    ]
    ids = [n + id_check_digit(n) for n in ids]
    codes = ["91350100M000100Y43", "12100000400000624D", "91370100MA3C5BX80Q"] * 300
    cal = WorkCalendar()
    starts = [date(2025, 1, 1) + timedelta(days=k) for k in range(365)]
    days = starts * 5
    name, data = corpus()
    text = decode_bytes(data)[0]
    size = len(data) / 1e6

    def rate(label: str, amount: float, unit: str, work: Callable[[], object]) -> tuple:
        return label, amount, median_seconds(work, runs), unit

    rows = [
        rate("parse_id_number", len(ids), "calls", lambda: [parse_id_number(n) for n in ids]),
        rate(
            "parse_credit_code", len(codes), "calls", lambda: [parse_credit_code(c) for c in codes]
        ),
        rate(
            "add_working_days(start, 15)",
            len(starts),
            "calls",
            lambda: [cal.add_working_days(s, 15) for s in starts],
        ),
        rate(
            "WorkCalendar.is_working_day",
            len(days),
            "calls",
            lambda: [cal.is_working_day(d) for d in days],
        ),
        rate(
            "chinese_calendar.is_workday (comparison)",
            len(days),
            "calls",
            lambda: [chinese_calendar.is_workday(d) for d in days],
        ),
        rate(f"decode_bytes ({name})", size, "MB", lambda: decode_bytes(data)),
        rate(f"clean_text ({name})", size, "MB", lambda: clean_text(text)),
        rate(f"segment ({name})", size, "MB", lambda: segment(text)),
        rate(f"segment_for_search ({name})", size, "MB", lambda: segment_for_search(text)),
    ]
    print(f"median of {runs} runs\n")
    print("| operation | amount | seconds | rate |\n|---|---|---|---|")
    for label, amount, seconds, unit in rows:
        rate = (
            f"{amount / seconds:,.0f} {unit}/s"
            if unit == "calls"
            else f"{amount / seconds:.1f} MB/s"
        )
        print(f"| {label} | {amount:,.2f} {unit} | {seconds:.4f} | {rate} |")


if __name__ == "__main__":
    main()
