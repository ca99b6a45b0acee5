"""Profiling and quality-rule throughput of the data officer, in rows per second on one core.

Generates the synthetic population register as CSV (about 1 GB at the default 11 million rows),
loads it into Parquet, then profiles it and runs the proposed quality rules ``--repeat`` times,
reporting medians. Run it pinned to one core::

    taskset -c 0 .venv/bin/python bench/dataofficer_throughput.py --rows 11000000

The files go to ``--workdir`` (default: a temporary directory, removed afterwards).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shuzhi.dataofficer.profile import profile_parquet
from shuzhi.dataofficer.quality import propose_rules, run_rules
from shuzhi.dataofficer.sources import load_file
from shuzhi.dataofficer.synthetic import write_population_csv

CPU: list[float] = []


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds and the result; the CPU seconds of the call are appended to ``CPU``.

    On a shared machine the wall clock counts other people's work too; CPU time does not, so
    both are reported.
    """
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - started, result


def cpu_median(count: int) -> float:
    return statistics.median(CPU[-count:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=11_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        csv_path, parquet = work / "population.csv", work / "population.parquet"

        seconds, defects = timed(lambda: write_population_csv(csv_path, args.rows))
        size = csv_path.stat().st_size
        print(f"generated {args.rows:,} rows, {size / 1e9:.2f} GB in {seconds:.1f}s")

        seconds, _ = timed(lambda: load_file(csv_path, parquet))
        print(
            f"load CSV -> Parquet: {seconds:.1f}s, {args.rows / seconds:,.0f} rows/s; "
            f"CPU {CPU[-1]:.1f}s"
        )

        profiles = [timed(lambda: profile_parquet(parquet, threads=args.threads))]
        profiles += [
            timed(lambda: profile_parquet(parquet, threads=args.threads))
            for _ in range(args.repeat - 1)
        ]
        profile = profiles[0][1]
        median, cpu = statistics.median(s for s, _ in profiles), cpu_median(args.repeat)
        print(
            f"profile ({len(profile.columns)} columns): median {median:.1f}s of {args.repeat}, "
            f"{args.rows / median:,.0f} rows/s; CPU {cpu:.1f}s, {args.rows / cpu:,.0f} rows/CPU-s"
        )

        rules = propose_rules(profile)
        masks = {c.name: c.pii_kind for c in profile.columns if c.pii_kind}
        runs = [
            timed(lambda: run_rules(parquet, rules, masks=masks, threads=args.threads))
            for _ in range(args.repeat)
        ]
        median, cpu = statistics.median(s for s, _ in runs), cpu_median(args.repeat)
        report = runs[0][1]
        print(
            f"quality ({len(rules)} rules): median {median:.1f}s of {args.repeat}, "
            f"{args.rows / median:,.0f} rows/s; CPU {cpu:.1f}s, {args.rows / cpu:,.0f} rows/CPU-s"
        )
        found = {(r.rule.kind, r.rule.column): r.failing for r in report.results}
        assert found[("validity", "身份证号")] == defects.bad_check_digit
        assert found[("uniqueness", "身份证号")] == defects.duplicate_id
        assert found[("completeness", "手机号")] == defects.missing_phone
        print("defect counts found exactly: check digits, duplicates, missing phones")


if __name__ == "__main__":
    main()
