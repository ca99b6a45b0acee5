"""The embedded default: a tantivy index on disk, over words segmented by jieba beforehand."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tantivy

from shuzhi.errors import Conflict, RuntimeFailure
from shuzhi.knowledge.backends.base import (
    TITLE_BOOST,
    Hit,
    IndexEntry,
    SearchRequest,
    bm25_idf,
    date_number,
)

log = logging.getLogger(__name__)

WRITER_HEAP = 200_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("document_id", indexed=True, fast=True)
    builder.add_unsigned_field("seq", fast=True)
    builder.add_unsigned_field("kb_id", indexed=True, fast=True)
    builder.add_integer_field("version_date", indexed=True, fast=True)
    builder.add_text_field("doc_type", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class TantivyBackend:
    """One index for every knowledge base of the deployment, filtered by ``kb_id``."""

    name = "tantivy"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema = _schema()
        path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self._seen_meta = self._meta_stamp()
        self._lock = threading.Lock()

    def index(self, entries: Sequence[IndexEntry]) -> None:
        if not entries:
            return
        with self._writer() as writer:
            for entry in entries:
                writer.add_document(self._document(entry))

    def delete(self, document_ids: Sequence[int]) -> None:
        if not document_ids:
            return
        # By query, not by term: delete_documents_by_term builds a signed term for a Python int
        # and silently matches nothing in an unsigned field.
        query = tantivy.Query.term_set_query(self.schema, "document_id", list(document_ids))
        with self._writer() as writer:
            writer.delete_documents_by_query(query)

    def clear(self, kb_ids: Sequence[int]) -> None:
        if not kb_ids:
            return
        query = tantivy.Query.term_set_query(self.schema, "kb_id", list(kb_ids))
        with self._writer() as writer:
            writer.delete_documents_by_query(query)

    def search(self, request: SearchRequest) -> list[Hit]:
        if not request.words or request.kb_ids == []:
            return []
        searcher = self._searcher()
        found = searcher.search(self._query(request), request.limit, count=False).hits
        addresses = [address for _, address in found]
        document_ids = searcher.fast_field_values("document_id", addresses)
        seqs = searcher.fast_field_values("seq", addresses)
        return [
            Hit(int(document_id or 0), int(seq or 0), score)
            for (score, _), document_id, seq in zip(found, document_ids, seqs, strict=True)
        ]

    def word_weights(self, words: Sequence[str]) -> dict[str, float]:
        searcher = self._searcher()
        chunks = searcher.num_docs
        return {w: bm25_idf(chunks, searcher.doc_freq("body", w)) for w in dict.fromkeys(words)}

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())

    def _document(self, entry: IndexEntry) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("document_id", entry.document_id)
        doc.add_unsigned("seq", entry.seq)
        doc.add_unsigned("kb_id", entry.kb_id)
        doc.add_integer("version_date", date_number(entry.version_date))
        doc.add_text("doc_type", entry.doc_type)
        doc.add_text("title", entry.title_text)
        doc.add_text("body", entry.body_text)
        return doc

    def _query(self, request: SearchRequest) -> tantivy.Query:
        Q, schema = tantivy.Query, self.schema
        should: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for word in request.words:
            should.append((tantivy.Occur.Should, Q.term_query(schema, "body", word)))
            title = Q.boost_query(Q.term_query(schema, "title", word), TITLE_BOOST)
            should.append((tantivy.Occur.Should, title))
        clauses = [(tantivy.Occur.Must, Q.boolean_query(should))]
        clauses += [
            (tantivy.Occur.Must, Q.const_score_query(f, 0.0)) for f in self._filters(request)
        ]
        return Q.boolean_query(clauses)

    def _filters(self, request: SearchRequest) -> list[tantivy.Query]:
        Q, schema = tantivy.Query, self.schema
        # A filter on every document defeats tantivy's top-k pruning (4x slower); the service
        # passes kb_ids=None when the bases asked for hold everything indexed.
        filters = []
        if request.kb_ids is not None:
            filters.append(Q.term_set_query(schema, "kb_id", list(request.kb_ids)))
        if request.document_ids:
            filters.append(Q.term_set_query(schema, "document_id", list(request.document_ids)))
        if request.doc_types:
            filters.append(Q.term_set_query(schema, "doc_type", sorted(request.doc_types)))
        if request.date_from or request.date_to:
            filters.append(self._date_range(request))
        return filters

    def _date_range(self, request: SearchRequest) -> tantivy.Query:
        lower = date_number(request.date_from) if request.date_from else 1
        upper = date_number(request.date_to) if request.date_to else 99991231
        return tantivy.Query.range_query(
            self.schema, "version_date", tantivy.FieldType.Integer, lower, upper
        )

    def _searcher(self) -> tantivy.Searcher:
        stamp = self._meta_stamp()
        if stamp != self._seen_meta:  # another writer (or process) committed since we last looked
            self._index.reload()
            self._seen_meta = stamp
        return self._index.searcher()

    def _meta_stamp(self) -> float:
        meta = self.path / "meta.json"
        return meta.stat().st_mtime_ns if meta.exists() else 0.0

    def _writer(self) -> _Writer:
        return _Writer(self)


class _Writer:
    """A writer used for one batch: commit and reload on success, roll back on error."""

    def __init__(self, backend: TantivyBackend) -> None:
        self.backend = backend
        self.writer: Any = None

    def __enter__(self) -> Any:
        self.backend._lock.acquire()
        try:
            self.writer = self.backend._index.writer(WRITER_HEAP, 1)
        except ValueError as exc:
            self.backend._lock.release()
            if "LockBusy" in str(exc) or "lock" in str(exc).lower():
                raise Conflict(
                    "知识库索引正被另一个进程写入", hint="等另一个导入任务完成后再试"
                ) from exc
            raise RuntimeFailure(f"无法打开知识库索引 {self.backend.path}：{exc}") from exc
        return self.writer

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.writer.commit()
                self.writer.wait_merging_threads()
                self.backend._index.reload()
                self.backend._seen_meta = self.backend._meta_stamp()
            else:
                self.writer.rollback()
        finally:
            self.writer = None
            self.backend._lock.release()
