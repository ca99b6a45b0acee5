"""Knowledge bases, their documents and chunks.

Chunks are the record of truth: the search index (tantivy on disk, or the postings and term
statistics tables on PostgreSQL) can always be rebuilt from them with ``shuzhi kb reindex``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.storage.db import utcnow
from shuzhi.storage.models.base import Base, Timestamped
from shuzhi.storage.types import JSONType, UTCDateTime


class KnowledgeBase(Timestamped, Base):
    """A department's collection of documents, readable according to its security grade."""

    __tablename__ = "knowledge_bases"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16), default="internal")
    description: Mapped[str] = mapped_column(Text, default="")


class KbDocument(Timestamped, Base):
    """One imported file (or upload, or spreadsheet), identified within its base by source key."""

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("kb_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kb_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True
    )
    source_key: Mapped[str] = mapped_column(String(512))
    # Absolute path of the imported file, or "upload:<account>"; "" when not known (older rows).
    origin: Mapped[str] = mapped_column(String(1024), default="", server_default="")
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    law_key: Mapped[str] = mapped_column(String(500), index=True)
    doc_type: Mapped[str] = mapped_column(String(16), default="other")
    file_type: Mapped[str] = mapped_column(String(16), default="")
    version_date: Mapped[date | None] = mapped_column(Date)
    province: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(32), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="stored")
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class KbChunk(Base):
    """A passage: an article of a law, or a section/paragraph group of another document."""

    __tablename__ = "kb_chunks"
    __table_args__ = (UniqueConstraint("document_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"))
    kb_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(String(64), default="")
    article_no: Mapped[int | None] = mapped_column(Integer)
    heading_path: Mapped[list[str]] = mapped_column(JSONType, default=list)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))


class KbVector(Base):
    """A chunk's dense vector in one embedding model's space (float32, L2-normalised).

    Optional: written only when an embedding model is configured. Deleted with its chunk, so a
    changed document is embedded again; rebuilt from the chunks like the full-text index.
    """

    __tablename__ = "kb_vectors"
    __table_args__ = (UniqueConstraint("chunk_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("kb_chunks.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    kb_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class KbPosting(Base):
    """One word of one chunk, for BM25 on PostgreSQL (empty on SQLite, where tantivy indexes).

    ``tf`` counts the word in the chunk's body (heading and text), ``title_tf`` in its document's
    title; the lengths (in words, capped at 32,767) ride along so a query needs no other table.
    The primary key serves deletes and per-chunk lookups, ``ix_kb_postings_term`` a word's list,
    ``ix_kb_postings_title`` its title list; all carry the counts (INCLUDE) so that a query reads
    only the indexes.
    """

    __tablename__ = "kb_postings"
    __table_args__ = (
        PrimaryKeyConstraint(
            "document_id",
            "seq",
            "term",
            postgresql_include=["tf", "title_tf", "body_len", "title_len"],
        ),
        Index(
            "ix_kb_postings_term",
            "term",
            "document_id",
            "seq",
            unique=True,
            postgresql_include=["tf", "title_tf", "body_len", "title_len"],
        ),
        Index(
            "ix_kb_postings_title",
            "term",
            "document_id",
            "seq",
            postgresql_include=["tf", "title_tf", "body_len", "title_len"],
            postgresql_where=sql_text("title_tf > 0"),
        ),
    )

    document_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    term: Mapped[str] = mapped_column(Text)
    tf: Mapped[int] = mapped_column(SmallInteger)
    title_tf: Mapped[int] = mapped_column(SmallInteger)
    body_len: Mapped[int] = mapped_column(SmallInteger)
    title_len: Mapped[int] = mapped_column(SmallInteger)


class KbTerm(Base):
    """How many indexed chunks contain a word in their body (``df``) and title (``title_df``)."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    df: Mapped[int] = mapped_column(Integer)
    title_df: Mapped[int] = mapped_column(Integer)


class KbIndexStats(Base):
    """One row (id 1): indexed chunks and their total body and title lengths, for BM25."""

    __tablename__ = "kb_index_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chunks: Mapped[int] = mapped_column(BigInteger)
    body_words: Mapped[int] = mapped_column(BigInteger)
    title_words: Mapped[int] = mapped_column(BigInteger)
