"""Texts named the way people name them: abbreviations and shortened titles.

A clerk writes 社保法 for 中华人民共和国社会保险法, 济南12345热线条例 for
济南市12345市民服务热线条例, 房屋征收补偿条例 for 国有土地上房屋征收与补偿条例, 记分管理办法
for 道路交通安全违法行为记分管理办法. Exact titles are found by the catalogue; this module finds
the rest in two ways:

- **Abbreviations** in common use (``data/law_aliases.yaml``): a fixed list, each naming the title
  it stands for. A deployment's texts decide whether the title is there at all.
- **Shortened titles**: where the question says 条例, 办法, 规定, 细则 or 法, the characters before
  that word are matched backwards against every title ending with it, in order, leaving out
  characters of the title (市, 与, 民服务) but never of the question. The title matching the most
  characters wins, if at least :data:`MIN_MATCHED` characters matched (the ending included) and
  the title's left-out characters are no more than the matched ones, and the match starts where
  a word of the question starts. When several titles match as many characters, all are named
  (济南's and 青岛's 12345 regulations for "12345热线条例"; "热线条例" alone names nothing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

import yaml

from shuzhi.knowledge._text import word_bounds

ENDINGS = ("条例", "办法", "规定", "细则", "法")
MIN_MATCHED = 6  # characters of a shortened title, its ending included


@cache
def aliases() -> dict[str, str]:
    """Shipped abbreviation → the short title (without 中华人民共和国) it stands for."""
    text = resources.files("shuzhi.knowledge").joinpath("data/law_aliases.yaml").read_text("utf-8")
    loaded = yaml.safe_load(text) or {}
    return {str(alias): str(title) for alias, title in loaded.items()}


class LooseTitles:
    """Shortened titles named in a question → the law keys they stand for."""

    def __init__(self, names: Mapping[str, Iterable[str]]) -> None:
        """``names``: every title (short and full form) → the law keys it names."""
        self._by_ending: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
        for name, keys in names.items():
            ending = next((e for e in ENDINGS if name.endswith(e)), None)
            if ending is not None and len(name) > len(ending):
                self._by_ending[ending].append((name, frozenset(keys)))

    def find(self, text: str) -> dict[str, set[str]]:
        """The best-matching titles for each title ending in ``text``: matched span → keys."""
        found: dict[str, set[str]] = {}
        bounds: set[int] | None = None
        for ending in ENDINGS:
            start = text.find(ending)
            while start != -1:
                end = start + len(ending)
                if bounds is None:
                    bounds = word_bounds(text)
                span, keys = self._best(text[:start], ending, bounds)
                if keys:
                    found[text[start - span : end]] = keys
                start = text.find(ending, end)
        return found

    def _best(self, before: str, ending: str, bounds: set[int]) -> tuple[int, set[str]]:
        """(question characters matched before the ending, keys of the best titles).

        A match that starts inside a word of the question is cut back to that word's end: 南京
        does not name 北京 by its 京.
        """
        need = MIN_MATCHED - len(ending)
        if len(before) < need:
            return 0, set()
        clue = before[-need:]
        best, keys = 0, set()
        for name, name_keys in self._by_ending[ending]:
            if not all(c in name for c in clue):
                continue
            matched = _matched_backwards(before, name[: -len(ending)])
            while matched and len(before) - matched not in bounds:
                matched -= 1
            if matched < need:
                continue
            if matched > best:
                best, keys = matched, set(name_keys)
            elif matched == best:
                keys |= name_keys
        return best, keys


def _matched_backwards(before: str, title: str) -> int:
    """Characters at the end of ``before`` found in order, backwards, in ``title``; 0 when the
    title's characters left out between them outnumber them. A character of the question that
    the title lacks ends the match.
    """
    i, matched, skipped = len(title) - 1, 0, 0
    for char in reversed(before):
        j = title.rfind(char, 0, i + 1)
        if j < 0:
            break
        matched, skipped, i = matched + 1, skipped + i - j, j - 1
    return matched if skipped <= matched else 0
