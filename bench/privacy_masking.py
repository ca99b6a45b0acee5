"""Benchmark: PII detection quality and masking throughput.

Run from the repository root::

    .venv/bin/python bench/privacy_masking.py [--cases 5000] [--runs 5]

Quality is exact-span precision and recall per kind on the seeded generated set
(``shuzhi.privacy.evalset``), on the base set and on the hard set of known limits. Throughput is
the median of ``--runs`` CPU-time measurements (``time.process_time``, so other work on a
shared machine does not count) of ``Masker.mask`` (and of ``mask_for_display``) over the
generated text and, when ``../shared/data`` is present, over the real hotline messages.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from shuzhi.privacy import Masker, PiiKind
from shuzhi.privacy.evalset import evaluate, generate

SEED = 20261203
HOTLINE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hotline"


def quality_table(cases: int, hard: bool) -> list[str]:
    masker = Masker()
    scores = evaluate(generate(cases, seed=SEED, hard=hard), masker.detect)
    rows = [
        "| kind | planted | found right | false alarms | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    for kind in PiiKind:
        if kind not in scores:
            continue
        s = scores[kind]
        planted = s.true_positives + s.false_negatives
        rows.append(
            f"| {kind.value} | {planted} | {s.true_positives} | {s.false_positives} "
            f"| {s.precision:.4f} | {s.recall:.4f} |"
        )
    return rows


def median_mb_per_s(
    work: Callable[[str], object], texts: list[str], runs: int
) -> tuple[float, float]:
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    timings = []
    for _ in range(runs):
        start = time.process_time()
        for text in texts:
            work(text)
        timings.append(time.process_time() - start)
    return size, size / statistics.median(timings)


def hotline_texts() -> list[str] | None:
    path = HOTLINE / "messages_labelled.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return [row["留言详情"] for row in csv.DictReader(handle)]


def throughput_table(cases: int, runs: int) -> list[str]:
    masker = Masker()
    corpora = {"generated cases": [c.text for c in generate(cases, seed=SEED)]}
    real = hotline_texts()
    if real is not None:
        corpora["hotline messages_labelled.csv (留言详情)"] = real
    rows = [
        "| corpus | texts | MB (UTF-8) | mask MB/s | mask_for_display MB/s |",
        "|---|---|---|---|---|",
    ]
    for name, texts in corpora.items():
        size, mask_rate = median_mb_per_s(masker.mask, texts, runs)
        _, display_rate = median_mb_per_s(masker.mask_for_display, texts, runs)
        rows.append(
            f"| {name} | {len(texts)} | {size:.2f} | {mask_rate:.1f} | {display_rate:.1f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, seed {SEED}, {args.cases} cases, {args.runs} runs\n")
    print("Base set:\n")
    print("\n".join(quality_table(args.cases, hard=False)))
    print("\nHard set (known limits included):\n")
    print("\n".join(quality_table(args.cases, hard=True)))
    print("\nThroughput (median of runs):\n")
    print("\n".join(throughput_table(args.cases, args.runs)))


if __name__ == "__main__":
    main()
