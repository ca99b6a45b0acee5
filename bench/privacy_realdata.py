"""List every item the detector finds in the real hotline texts, for reading by hand.

Run from the repository root (needs ``../shared/data``)::

    .venv/bin/python bench/privacy_realdata.py

Prints each distinct value once with a little context, then the counts per kind.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl

from shuzhi.cn.encoding import read_text
from shuzhi.privacy import PiiKind, detect

HOTLINE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hotline"
WORKBOOKS = {
    "messages_with_replies.xlsx": ("留言详情", "答复意见"),
    "messages_with_votes.xlsx": ("留言详情",),
}


def texts() -> list[str]:
    labelled = read_text(HOTLINE / "messages_labelled.csv")
    found = [row["留言详情"] for row in csv.DictReader(io.StringIO(labelled, newline=""))]
    for name, columns in WORKBOOKS.items():
        sheet = openpyxl.load_workbook(HOTLINE / name, read_only=True).active
        rows = sheet.iter_rows(values_only=True)
        header = list(next(rows))
        wanted = [header.index(column) for column in columns]
        found += [str(row[i]) for row in rows for i in wanted if row[i]]
    return found


def main() -> None:
    corpus = texts()
    counts: Counter[PiiKind] = Counter()
    seen: set[tuple[PiiKind, str]] = set()
    for text in corpus:
        for span in detect(text):
            counts[span.kind] += 1
            if (span.kind, span.value) not in seen:
                seen.add((span.kind, span.value))
                context = text[max(0, span.start - 8) : span.end + 4].replace("\n", " ")
                print(f"{span.kind.value}\t{span.value}\t{context}")
    print(f"\n{len(corpus)} texts, {sum(counts.values())} items, {len(seen)} distinct values")
    print(", ".join(f"{kind.value}: {n}" for kind, n in counts.most_common()))


if __name__ == "__main__":
    main()
