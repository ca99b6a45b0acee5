"""Quality of the hotline employee on the shared real data (../shared/data/hotline).

    .venv/bin/python bench/hotline_quality.py dispatch   # 5-fold CV of the dispatch classifier
    .venv/bin/python bench/hotline_quality.py replies    # reply check over the real replies

``dispatch`` deduplicates messages_labelled.csv by text (see classifier.deduplicate) and runs
stratified 5-fold cross-validation of the shipped pipeline. ``replies`` runs the reply quality
check over messages_with_replies.xlsx and prints the flag counts with a few examples of each.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from shuzhi.scenarios.hotline.classifier import cross_validate
from shuzhi.scenarios.hotline.importing import import_file
from shuzhi.scenarios.hotline.reply import check_reply
from shuzhi.scenarios.hotline.rules import load_rules
from shuzhi.scenarios.hotline.service import load_history

DATA = Path(os.environ.get("SHUZHI_SHARED_DATA", "../shared/data")) / "hotline"


def dispatch() -> None:
    texts, labels = load_history(DATA / "messages_labelled.csv")
    start = time.perf_counter()
    scores = cross_validate(texts, labels, folds=5, seed=0)
    print(f"{scores.n_samples} messages after removing {scores.n_duplicates_removed} duplicates")
    print(f"accuracy {scores.accuracy:.4f}  macro-F1 {scores.macro_f1:.4f}")
    print("fold macro-F1", [round(s, 4) for s in scores.fold_macro_f1])
    for name, f1 in sorted(scores.per_class_f1.items(), key=lambda kv: kv[1]):
        print(f"  {name:10s} F1 {f1:.4f}")
    print(f"{time.perf_counter() - start:.0f} s; load average {os.getloadavg()}")


def replies() -> None:
    rules = load_rules()
    messages = [m for m in import_file(DATA / "messages_with_replies.xlsx").messages if m.reply]
    flags: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    days = []
    for m in messages:
        check = check_reply(
            m.full_text,
            m.reply or "",
            rules=rules,
            received_at=m.received_at,
            replied_at=m.replied_at,
        )
        flags.update(check.flags or ["none"])
        if check.working_days_taken is not None:
            days.append(check.working_days_taken)
        for flag in check.flags:
            detail = check.missed_demands[:1] if flag == "missed_demand" else check.notes[:1]
            examples.setdefault(flag, []).append(f"row {m.row} {m.title[:30]} {detail}")
    print(f"{len(messages)} replies: {dict(flags)}")
    print(
        f"working days taken: median {statistics.median(days)}, "
        f"90th percentile {sorted(days)[int(0.9 * len(days))]}"
    )
    for flag, rows in examples.items():
        print(flag, *rows[:5], sep="\n  ")


if __name__ == "__main__":
    {"dispatch": dispatch, "replies": replies}[sys.argv[1] if len(sys.argv) > 1 else "dispatch"]()
