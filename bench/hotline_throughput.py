"""Throughput and peak memory of the hotline batch path on one core.

    .venv/bin/python bench/hotline_throughput.py --messages 100000 --repeat 1

Generates invented messages (templates from ``shuzhi.scenarios.hotline.demo``, padded to a
realistic length), trains on the generated history, then times import → clean → mask → classify
→ extract → deadline → store (SQLite, bulk) → write (workbook, JSON Lines, HTML report). Hot
topics are timed apart: they cluster a window, not every message. Prints medians of wall time
and of this process's CPU time (on a shared, loaded machine the CPU time is the honest figure for
"one core"; both are printed).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from shuzhi.scenarios.hotline.batch import BatchJob, BatchResult, build_orders, file_key
from shuzhi.scenarios.hotline.classifier import train
from shuzhi.scenarios.hotline.demo import _TEMPLATES, _message, write_sample
from shuzhi.scenarios.hotline.hotspots import hot_topics
from shuzhi.scenarios.hotline.importing import import_file
from shuzhi.scenarios.hotline.outputs import write_outputs
from shuzhi.scenarios.hotline.service import load_history, store_orders
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import upgrade

FILLER = "这个问题已经持续很长时间了，多次反映没有得到解决，严重影响周边居民的正常生活。"


def generate(path: Path, n: int) -> None:
    rng = random.Random(7)
    categories = sorted(_TEMPLATES)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["留言编号", "留言用户", "留言时间", "留言主题", "留言详情", "点赞数"])
        for i in range(n):
            text = _message(rng, rng.choice(categories)) + FILLER * rng.randint(1, 4)
            text += f"联系电话1{rng.randint(3, 9)}{rng.randrange(10**9):09d}。"
            when = f"2019/{rng.randint(1, 12)}/{rng.randint(1, 28)} {rng.randint(0, 23)}:05:00"
            writer.writerow(
                [i, f"A{rng.randrange(10**8)}", when, text[:20], text, rng.randint(0, 9)]
            )


class Clock:
    """Wall and process CPU time since the last lap."""

    def __init__(self) -> None:
        self.start = self.last = (time.perf_counter(), time.process_time())

    def lap(self) -> tuple[float, float]:
        now = (time.perf_counter(), time.process_time())
        spent = (now[0] - self.last[0], now[1] - self.last[1])
        self.last = now
        return spent

    def total(self) -> tuple[float, float]:
        return (self.last[0] - self.start[0], self.last[1] - self.start[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    history, _ = write_sample(work / "sample")
    classifier = train(*load_history(history))
    source = work / "messages.csv"
    generate(source, args.messages)
    db = Database(f"sqlite:///{work / 'bench.db'}")
    upgrade(db)

    timings: dict[str, list[tuple[float, float]]] = {}
    peaks: dict[str, float] = {"after setup": _peak_mb()}
    for round_ in range(args.repeat):
        job = BatchJob(classifier, topics=False)
        assert job.dispatcher is not None
        stages: dict[str, tuple[float, float]] = {}
        clock = Clock()
        imported = import_file(source)
        stages["import"] = clock.lap()
        peaks["after import"] = _peak_mb()
        orders = build_orders(imported.messages, job.dispatcher, f"{file_key(source)}{round_}")
        stages["mask+classify+extract+deadline"] = clock.lap()
        peaks["after mask+classify+extract+deadline"] = _peak_mb()
        result = BatchResult(str(source), orders, imported, classifier.manifest.name, 0.6)
        store_orders(db, result)
        stages["store (SQLite)"] = clock.lap()
        peaks["after store (SQLite)"] = _peak_mb()
        write_outputs(result, work / f"out{round_}")
        stages["write xlsx+jsonl+html"] = clock.lap()
        peaks["after write xlsx+jsonl+html"] = _peak_mb()
        stages["total"] = clock.total()
        topics = hot_topics(orders, window_days=30)
        stages["hot topics (30-day window, apart)"] = clock.lap()
        peaks["after hot topics"] = _peak_mb()
        for key, value in stages.items():
            timings.setdefault(key, []).append(value)
        print(f"round {round_}: {len(orders)} orders, {len(topics)} topics")

    n = args.messages
    print(f"{'stage':40s} {'wall s':>8s} {'msg/s':>8s} {'cpu s':>8s} {'msg/s':>8s}")
    for key, values in timings.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{key:40s} {wall:8.2f} {n / wall:8.0f} {cpu:8.2f} {n / cpu:8.0f}")
    for key, peak in peaks.items():
        print(f"peak RSS {key:40s} {peak:6.0f} MB")
    print(f"load average {os.getloadavg()}")


def _peak_mb() -> float:
    """This process's peak resident memory so far (it only grows, so each stage's reading is
    the highest of that stage and all before it)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
