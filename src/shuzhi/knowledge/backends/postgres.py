"""PostgreSQL full text: pre-segmented words in ``kb_chunks.search_vector`` (``simple`` config).

Several API servers share one database, so the index lives in it too (GIN index on the column).
The title's words carry weight B and the body's weight D, so a question naming a law leans to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from shuzhi.knowledge.backends.base import Hit, IndexEntry, SearchRequest
from shuzhi.storage.db import Database

# One statement per batch: row-by-row UPDATEs cost a round trip each (minutes for a big corpus).
_SET_VECTORS = text(
    "UPDATE kb_chunks AS c SET search_vector = "
    "setweight(to_tsvector('simple', v.title), 'B') || to_tsvector('simple', v.body) "
    "FROM unnest(CAST(:docs AS integer[]), CAST(:seqs AS integer[]), CAST(:titles AS text[]), "
    "CAST(:bodies AS text[])) AS v(document_id, seq, title, body) "
    "WHERE c.document_id = v.document_id AND c.seq = v.seq"
)
BATCH = 5000


def _tsquery(words: Sequence[str]) -> str:
    """OR of quoted lexemes: nothing a citizen types can break the tsquery syntax."""
    quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words)
    return " | ".join(quoted)


class PostgresBackend:
    name = "postgres"

    def __init__(self, db: Database) -> None:
        self.db = db

    def index(self, entries: Sequence[IndexEntry]) -> None:
        if not entries:
            return
        with self.db.session() as session:
            for start in range(0, len(entries), BATCH):
                part = entries[start : start + BATCH]
                params = {
                    "docs": [e.document_id for e in part],
                    "seqs": [e.seq for e in part],
                    "titles": [e.title_text for e in part],
                    "bodies": [e.body_text for e in part],
                }
                session.execute(_SET_VECTORS, params)

    def delete(self, document_ids: Sequence[int]) -> None:
        if not document_ids:
            return
        with self.db.session() as session:
            session.execute(
                text("UPDATE kb_chunks SET search_vector = NULL WHERE document_id = ANY(:ids)"),
                {"ids": list(document_ids)},
            )

    def clear(self, kb_ids: Sequence[int]) -> None:
        with self.db.session() as session:
            session.execute(
                text("UPDATE kb_chunks SET search_vector = NULL WHERE kb_id = ANY(:ids)"),
                {"ids": list(kb_ids)},
            )

    def search(self, request: SearchRequest) -> list[Hit]:
        if not request.words or request.kb_ids == []:
            return []
        where, params = self._where(request)
        sql = text(
            "SELECT c.document_id, c.seq, ts_rank(c.search_vector, q, 1) AS score "
            "FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id, "
            "to_tsquery('simple', :q) q "
            f"WHERE c.search_vector @@ q AND {where} ORDER BY score DESC LIMIT :limit"
        )
        with self.db.session() as session:
            rows = session.execute(sql, params).all()
        return [Hit(int(r[0]), int(r[1]), float(r[2])) for r in rows]

    def _where(self, request: SearchRequest) -> tuple[str, dict[str, object]]:
        params: dict[str, object] = {
            "q": _tsquery(request.words),
            "limit": request.limit,
        }
        clauses = ["TRUE"]
        if request.kb_ids is not None:
            clauses.append("c.kb_id = ANY(:kbs)")
            params["kbs"] = list(request.kb_ids)
        if request.document_ids:
            clauses.append("c.document_id = ANY(:docs)")
            params["docs"] = list(request.document_ids)
        if request.doc_types:
            clauses.append("d.doc_type = ANY(:types)")
            params["types"] = sorted(request.doc_types)
        if request.date_from:
            clauses.append("d.version_date >= :date_from")
            params["date_from"] = request.date_from
        if request.date_to:
            clauses.append("d.version_date <= :date_to")
            params["date_to"] = request.date_to
        return " AND ".join(clauses), params
