"""knowledge: BM25 postings and term statistics for PostgreSQL; drop the tsvector column

The PostgreSQL backend used to rank ``kb_chunks.search_vector`` with ``ts_rank``, which has no
inverse document frequency. It now scores BM25 from ``kb_postings`` and ``kb_terms``; run
``shuzhi kb reindex NAME`` for every base after upgrading a PostgreSQL database (the index is
rebuilt from the stored chunks; until then searches find nothing).

Revision ID: 0011_kb_postings
Revises: 0010_kb_vectors
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_kb_postings"
down_revision: str | Sequence[str] | None = "0010_kb_vectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_postings",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("tf", sa.SmallInteger(), nullable=False),
        sa.Column("title_tf", sa.SmallInteger(), nullable=False),
        sa.Column("body_len", sa.SmallInteger(), nullable=False),
        sa.Column("title_len", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "document_id",
            "seq",
            "term",
            name=op.f("pk_kb_postings"),
            postgresql_include=["tf", "title_tf", "body_len", "title_len"],
        ),
    )
    op.create_index(
        "ix_kb_postings_term",
        "kb_postings",
        ["term", "document_id", "seq"],
        unique=True,
        postgresql_include=["tf", "title_tf", "body_len", "title_len"],
    )
    op.create_index(
        "ix_kb_postings_title",
        "kb_postings",
        ["term", "document_id", "seq"],
        postgresql_include=["tf", "title_tf", "body_len", "title_len"],
        postgresql_where=sa.text("title_tf > 0"),
    )
    op.create_table(
        "kb_terms",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.Column("title_df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_kb_terms")),
    )
    op.create_table(
        "kb_index_stats",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("body_words", sa.BigInteger(), nullable=False),
        sa.Column("title_words", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_index_stats")),
    )
    # Native DROP COLUMN (SQLite >= 3.35): a batch copy of kb_chunks would drop and recreate the
    # table, and with foreign keys on that deletes every row of kb_vectors by cascade.
    op.drop_index("ix_kb_chunks_search_vector", table_name="kb_chunks")
    op.drop_column("kb_chunks", "search_vector")
    if op.get_bind().dialect.name == "postgresql":
        # The PostgreSQL index is now empty: "stored" makes the next import of each base (or
        # `shuzhi kb reindex`) index its documents again, as after an interrupted import.
        op.execute("UPDATE kb_documents SET status = 'stored'")


def downgrade() -> None:
    op.add_column(
        "kb_chunks",
        sa.Column(
            "search_vector",
            sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_kb_chunks_search_vector", "kb_chunks", ["search_vector"], postgresql_using="gin"
    )
    op.drop_table("kb_index_stats")
    op.drop_table("kb_terms")
    op.drop_index("ix_kb_postings_title", table_name="kb_postings")
    op.drop_index("ix_kb_postings_term", table_name="kb_postings")
    op.drop_table("kb_postings")
