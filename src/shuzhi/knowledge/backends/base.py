"""The search backend seam: index pre-segmented chunks, delete a document's chunks, search."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

# Both backends score a word found in the document title at this share of a body match.
TITLE_BOOST = 0.7


@dataclass(frozen=True)
class IndexEntry:
    """A chunk as the index sees it: ids for filtering, and its words already segmented."""

    document_id: int
    seq: int  # the chunk's position in its document: (document_id, seq) names the chunk
    kb_id: int
    doc_type: str
    version_date: date | None
    title_text: str  # space-separated words
    body_text: str


@dataclass(frozen=True)
class SearchRequest:
    words: list[str]
    kb_ids: list[int] | None  # None: every knowledge base in the index
    limit: int = 100
    doc_types: frozenset[str] = frozenset()
    date_from: date | None = None
    date_to: date | None = None
    document_ids: list[int] = field(default_factory=list)  # empty: every document


@dataclass(frozen=True)
class Hit:
    document_id: int
    seq: int
    score: float


class SearchBackend(Protocol):
    name: str

    def index(self, entries: Sequence[IndexEntry]) -> None:
        """Add entries; they are searchable once the call returns."""

    def delete(self, document_ids: Sequence[int]) -> None:
        """Remove every chunk of these documents."""

    def search(self, request: SearchRequest) -> list[Hit]:
        """Best hits first, at most ``request.limit``."""

    def word_weights(self, words: Sequence[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each word in chunk bodies, over everything
        indexed (a word found nowhere weighs as much as the rarest possible word)."""

    def clear(self, kb_ids: Sequence[int]) -> None:
        """Drop everything indexed for these knowledge bases (before a rebuild)."""


def bm25_idf(chunks: int, df: int) -> float:
    """BM25's inverse document frequency, as tantivy and Lucene compute it."""
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


def date_number(value: date | None) -> int:
    """A date as ``YYYYMMDD`` for range filters; 0 when unknown."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0
