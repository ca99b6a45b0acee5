"""The department's category taxonomy (分类体系): up to three levels, read from a spreadsheet.

The dispatch classifier learns the first level from labelled history (that is what the history
carries). The taxonomy then places an order further down its branch: a second- and third-level
category whose name the message mentions. This placement is a keyword suggestion for the person
who handles the order, not a learned prediction, and it never changes the dispatch.

A taxonomy file has the columns 一级分类, 二级分类, 三级分类 (the shared
``category_taxonomy.xlsx`` is a real example); rows with an empty lower level are allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuzhi.errors import InvalidInput

LEVEL_HEADERS = ("一级分类", "二级分类", "三级分类")
# Catch-all names that a message never "mentions"; they are only used when nothing else fits.
_CATCH_ALL = {"其他", "其它", "综合"}
# A lower-level name counts as mentioned when at least this share of its character pairs occurs.
MIN_OVERLAP = 0.6


def looks_like_taxonomy(header: Sequence[Any]) -> bool:
    """True for a header row with the first two level columns and no message column."""
    names = {str(cell).strip() for cell in header if cell}
    return LEVEL_HEADERS[0] in names and LEVEL_HEADERS[1] in names


@dataclass
class Taxonomy:
    """Categories by first level: ``branches[top]`` lists its (second, third) pairs."""

    branches: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    source: str = ""

    @property
    def top_levels(self) -> list[str]:
        return list(self.branches)

    def __len__(self) -> int:
        return sum(len(pairs) or 1 for pairs in self.branches.values())

    def path(self, category: str, text: str) -> list[str]:
        """``[category, second, third]`` as far down as the text supports, else ``[category]``."""
        pairs = self.branches.get(category)
        if not pairs:
            return [category]
        best = _best_pair(pairs, text)
        if best is None:
            return [category]
        second, third = best
        return [category, second, third] if third else [category, second]

    def unknown(self, categories: Iterable[str]) -> list[str]:
        """The categories (e.g. of a classifier or a duty list) that the taxonomy lacks."""
        return sorted({c for c in categories if c not in self.branches})


def _pairs(name: str) -> set[str]:
    return {name[i : i + 2] for i in range(len(name) - 1)} if len(name) > 1 else {name}


def _mention(name: str, text: str) -> float:
    """How clearly ``text`` mentions ``name``: 1 for the whole name, else the share of pairs."""
    if not name or name in _CATCH_ALL:
        return 0.0
    if name in text:
        return 1.0 + len(name) / 100  # longer exact names win ties
    pairs = _pairs(name)
    share = sum(1 for p in pairs if p in text) / len(pairs)
    return share if share >= MIN_OVERLAP and len(pairs) >= 2 else 0.0


def _best_pair(pairs: Sequence[tuple[str, str]], text: str) -> tuple[str, str] | None:
    scored = []
    for second, third in pairs:
        third_score = _mention(third, text)
        second_score = _mention(second, text)
        score = third_score * 2 + second_score
        if score > 0:
            scored.append((score, second, third if third_score > 0 else ""))
    if not scored:
        return None
    _, second, third = max(scored, key=lambda s: s[0])
    return second, third


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read a taxonomy spreadsheet (.xlsx or .csv) with the three level columns."""
    from shuzhi.scenarios.hotline.importing import read_rows

    path = Path(path)
    rows = iter(read_rows(path))
    columns = _level_columns(rows, path)
    taxonomy = Taxonomy(source=path.name)
    for _, row in rows:
        levels = [_level(row, i) for i in columns]
        if not levels[0]:
            continue
        pairs = taxonomy.branches.setdefault(levels[0], [])
        second, third = [*levels, "", ""][1:3]
        if second and (second, third) not in pairs:
            pairs.append((second, third))
    if not taxonomy.branches:
        raise InvalidInput(f"分类体系文件 {path.name} 中没有任何分类", hint="检查“一级分类”列")
    return taxonomy


def _level_columns(rows: Iterable[tuple[int, Sequence[Any]]], path: Path) -> list[int]:
    for _, header in rows:
        names = [str(cell).strip() if cell else "" for cell in header]
        if LEVEL_HEADERS[0] in names:
            return [names.index(h) for h in LEVEL_HEADERS if h in names]
        break
    raise InvalidInput(
        f"{path.name} 的第一行没有“一级分类”列，不是分类体系文件",
        hint="分类体系表的表头应为：一级分类、二级分类、三级分类",
    )


def _level(row: Sequence[Any], index: int) -> str:
    if index >= len(row) or row[index] is None:
        return ""
    return str(row[index]).strip()
