"""Benchmark the scenario engine offline: catalogue load, one run, and evaluating everything.

Run: ``.venv/bin/python bench/scenarios_engine.py [--repeat N]``. Prints medians in milliseconds
and the manual handling time the catalogue's scenarios replace.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from shuzhi.scenarios import builtin_catalogue, evaluate, run_scenario
from shuzhi.scenarios.catalogue import BUILTIN_DIR, load_directory


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    catalogue = builtin_catalogue()
    flagship = catalogue.get("approval.business-registration-precheck")
    inputs = flagship.cases[1].inputs
    cases = sum(len(s.cases) for s in catalogue)

    load = median_ms(lambda: load_directory(BUILTIN_DIR), args.repeat)
    one_run = median_ms(lambda: run_scenario(flagship, inputs), args.repeat * 20)
    eval_all = median_ms(lambda: evaluate(catalogue=catalogue), args.repeat)
    manual = sum(s.manual_minutes for s in catalogue)

    print(f"scenarios={len(catalogue)} cases={cases}")
    print(f"load_catalogue_ms_median={load:.1f}")
    print(f"run_precheck_ms_median={one_run:.2f}")
    print(f"evaluate_all_ms_median={eval_all:.1f} per_case_ms={eval_all / cases:.2f}")
    mean_manual_ms = manual / len(catalogue) * 60_000
    print(f"manual_minutes_one_of_each={manual:.0f}")
    print(f"ratio_mean_manual_to_mean_case={mean_manual_ms / (eval_all / cases):.0f}")


if __name__ == "__main__":
    main()
