"""Quality of the hotline employee on the shared real data (../shared/data/hotline).

    .venv/bin/python bench/hotline_quality.py dispatch   # 5-fold CV of the dispatch classifier
    .venv/bin/python bench/hotline_quality.py confidence # review rate and calibration, same folds
    .venv/bin/python bench/hotline_quality.py replies    # reply check over the real replies
    .venv/bin/python bench/hotline_quality.py learning   # macro-F1 against history size

``dispatch`` deduplicates messages_labelled.csv by text (see classifier.deduplicate) and runs
stratified 5-fold cross-validation of the shipped pipeline. ``confidence`` trains the shipped
classifier (temperature included, fitted inside each training fold) on the same folds and reports
how many held-out messages would go to human review at a threshold and how often the
auto-dispatched ones are right, plus the expected calibration error. ``replies`` runs the reply
quality check over messages_with_replies.xlsx and prints the flag counts with a few examples.
``learning`` trains the shipped classifier on a quarter, half, three quarters and all of each
training fold (stratified subsamples, three draws each) and scores it on the whole held-out
fold: how much a department's labelled history is worth.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from shuzhi.scenarios.hotline.classifier import cross_validate, deduplicate, train
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
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


def confidence() -> None:
    texts, labels = load_history(DATA / "messages_labelled.csv")
    x, y_list = deduplicate(texts, labels)
    y = np.array(y_list)
    conf, right = np.zeros(len(y)), np.zeros(len(y), dtype=bool)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for train_idx, test_idx in splitter.split(x, y):
        classifier = train([x[i] for i in train_idx], list(y[train_idx]))
        top = [t[0] for t in classifier.top([x[i] for i in test_idx], k=1)]
        conf[test_idx] = [p for _, p in top]
        right[test_idx] = [c == y[i] for (c, _), i in zip(top, test_idx, strict=True)]
    for threshold in (0.5, DEFAULT_THRESHOLD, 0.7, 0.8):
        auto = conf >= threshold
        print(
            f"threshold {threshold}: review {1 - auto.mean():.1%}, "
            f"auto-dispatched right {right[auto].mean():.4f}"
        )
    edges = np.linspace(0, 1, 11)
    bins = np.clip(np.digitize(conf, edges[1:-1]), 0, 9)
    ece = sum(
        abs(right[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    print(f"mean confidence {conf.mean():.4f}, accuracy {right.mean():.4f}, ECE {ece:.4f}")
    start = time.process_time()
    train(texts, labels)
    print(f"training on all {len(texts)} messages: {time.process_time() - start:.1f} s CPU")


def learning() -> None:
    texts, labels = load_history(DATA / "messages_labelled.csv")
    x, y_list = deduplicate(texts, labels)
    y = np.array(y_list)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(x, y))
    for share in (0.25, 0.5, 0.75, 1.0):
        scores = []
        for draw in range(3 if share < 1 else 1):
            predicted = np.empty_like(y)
            for train_idx, test_idx in folds:
                part = train_idx
                if share < 1:
                    part = train_test_split(
                        train_idx, train_size=share, stratify=y[train_idx], random_state=draw
                    )[0]
                classifier = train([x[i] for i in part], list(y[part]))
                predicted[test_idx] = [t[0][0] for t in classifier.top([x[i] for i in test_idx])]
            scores.append(f1_score(y, predicted, average="macro"))
        size = round(len(y) * 0.8 * share)
        print(
            f"{share:.0%} of each training fold (~{size} messages): macro-F1 "
            f"{statistics.mean(scores):.4f} over {len(scores)} draw(s)",
            flush=True,
        )


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
    commands = {
        "dispatch": dispatch,
        "confidence": confidence,
        "replies": replies,
        "learning": learning,
    }
    commands[sys.argv[1] if len(sys.argv) > 1 else "dispatch"]()
