"""BM25 on PostgreSQL: word statistics, length normalisation, pruning, filters (PostgreSQL only)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from shuzhi.config import Settings
from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.knowledge.backends import IndexEntry, SearchRequest
from shuzhi.knowledge.backends import postgres as pg
from shuzhi.knowledge.backends.postgres import PostgresBackend
from shuzhi.knowledge.ingest import Source
from shuzhi.storage.db import Database

from .conftest import NATIONAL


@pytest.fixture
def backend(db: Database) -> PostgresBackend:
    if db.dialect != "postgresql":
        pytest.skip("the BM25 tables are used on PostgreSQL only")
    return PostgresBackend(db)


def entry(doc: int, seq: int, body: str, title: str = "", **extra: object) -> IndexEntry:
    values: dict[str, object] = {"kb_id": 1, "doc_type": "law", "version_date": None}
    values.update(extra)
    return IndexEntry(doc, seq, title_text=title, body_text=body, **values)  # type: ignore[arg-type]


def ranked(backend: PostgresBackend, *words: str, limit: int = 10) -> list[tuple[int, int]]:
    hits = backend.search(SearchRequest(words=list(words), kb_ids=None, limit=limit))
    return [(h.document_id, h.seq) for h in hits]


def fillers(count: int) -> list[IndexEntry]:
    """Chunks that all hold 单位 (a common word), none the rarer ones."""
    return [entry(100 + i, 0, f"单位 应当 遵守 本 条例 第{i}项") for i in range(count)]


def test_a_rare_word_outranks_a_repeated_common_one(backend: PostgresBackend) -> None:
    backend.index(
        [
            *fillers(30),
            entry(1, 0, "单位 单位 单位 办理 手续"),
            entry(2, 0, "工伤 认定 办理 手续"),
        ]
    )

    # ts_rank put chunk 1 first (three matches); BM25 weighs 工伤 (1 chunk) over 单位 (31).
    assert ranked(backend, "单位", "工伤")[0] == (2, 0)


def test_shorter_chunks_win_at_equal_counts(backend: PostgresBackend) -> None:
    long_body = "工伤 " + " ".join(f"词{i}" for i in range(60))
    backend.index([entry(1, 0, long_body), entry(2, 0, "工伤 认定"), *fillers(5)])

    assert ranked(backend, "工伤") == [(2, 0), (1, 0)]


def test_title_words_count_at_the_title_boost(backend: PostgresBackend) -> None:
    backend.index(
        [entry(1, 0, "其他 内容", title="工伤 保险 条例"), entry(2, 0, "无关 内容"), *fillers(5)]
    )

    hits = backend.search(SearchRequest(words=["工伤"], kb_ids=None))

    assert [(h.document_id, h.seq) for h in hits] == [(1, 0)]
    assert hits[0].score > 0


def test_deletes_and_reimports_keep_the_statistics_exact(
    backend: PostgresBackend, db: Database
) -> None:
    first = [entry(1, s, f"工伤 认定 第{s}条", title="工伤 条例") for s in range(3)]
    second = [entry(2, 0, "社会 保险 工伤 工伤"), *fillers(4)]
    backend.index(first + second)
    backend.delete([1])
    backend.index([entry(1, 0, "工伤 复议", title="工伤 条例")])  # the changed document

    assert _stored_stats(db) == _recounted_stats(db)
    assert _stored_stats(db)["工伤"] == (2, 1)
    with db.session() as session:
        chunks = session.execute(text("SELECT chunks FROM kb_index_stats")).scalar_one()
    assert chunks == 6

    backend.delete([1, 2, *range(100, 104)])
    assert all(counts == (0, 0) for counts in _stored_stats(db).values())
    assert ranked(backend, "工伤") == []


def test_common_words_are_added_to_what_rarer_words_find(
    backend: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200 chunks hold 单位 (a common list); each 词k is in 4 chunks (2%: not common).
    backend.index(
        [
            entry(d, 0, " ".join(["单位"] * (1 + d % 3) + [f"词{d % 50}"] * (1 + d % 2)))
            for d in range(1, 201)
        ]
    )
    statements: list[bool] = []
    real_query = pg._query
    monkeypatch.setattr(
        pg, "_query", lambda r, pruned: statements.append(pruned) or real_query(r, pruned)
    )

    pruned = ranked(backend, "单位", "词3", "词7", "词11", limit=5)
    too_few = ranked(backend, "单位", "词3", limit=10)  # 4 chunks without 单位: it comes back
    monkeypatch.setattr(pg, "COMMON_SHARE", 10.0)  # nothing is common: one exact pass
    exact = ranked(backend, "单位", "词3", "词7", "词11", limit=5)

    assert statements[0] is True  # the first statement left 单位 out
    assert pruned == exact
    assert len(too_few) == 10 and set(too_few) > {(d, 0) for d in (3, 53, 103, 153)}


def test_filters_apply(db: Database, settings: Settings, backend: PostgresBackend) -> None:
    service = KnowledgeService(db, settings, backend="postgres", embedder=None)
    for name in ("甲库", "乙库"):
        service.create(name, grade=Grade.PUBLIC)
    service.import_sources("甲库", [Source("示范劳动保障法(2020-01-01).md", NATIONAL.encode)])
    guide = "# 工伤办事指南\n\n工伤认定材料清单。\n"
    service.import_sources("乙库", [Source("工伤办事指南(2015-06-01).md", guide.encode)])
    kb_a, kb_b = service.get("甲库").id, service.get("乙库").id

    def documents(**filters: object) -> set[int]:
        request = SearchRequest(words=["工伤", "认定"], **filters)  # type: ignore[arg-type]
        return {h.document_id for h in backend.search(request)}

    everything = documents(kb_ids=None)
    assert len(everything) == 2
    only_a = documents(kb_ids=[kb_a])
    assert len(only_a) == 1 and documents(kb_ids=[kb_b]) == everything - only_a
    assert documents(kb_ids=None, doc_types=frozenset({"law"})) == only_a
    assert documents(kb_ids=None, date_from=date(2019, 1, 1)) == only_a
    assert documents(kb_ids=None, date_to=date(2019, 1, 1)) == everything - only_a
    assert documents(kb_ids=None, document_ids=sorted(only_a)) == only_a
    assert documents(kb_ids=[]) == set()

    service.delete("甲库")
    assert documents(kb_ids=None) == everything - only_a
    assert _stored_stats(db) == _recounted_stats(db)


def _stored_stats(db: Database) -> dict[str, tuple[int, int]]:
    with db.session() as session:
        rows = session.execute(text("SELECT term, df, title_df FROM kb_terms")).all()
    return {r[0]: (r[1], r[2]) for r in rows if r[1] or r[2]}


def _recounted_stats(db: Database) -> dict[str, tuple[int, int]]:
    sql = (
        "SELECT term, count(*) FILTER (WHERE tf > 0), count(*) FILTER (WHERE title_tf > 0) "
        "FROM kb_postings GROUP BY term"
    )
    with db.session() as session:
        rows = session.execute(text(sql)).all()
    return {r[0]: (r[1], r[2]) for r in rows}
