"""knowledge: dense vectors of chunks (optional dense retrieval)

Revision ID: 0010_kb_vectors
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_kb_vectors"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_vectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("kb_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["kb_chunks.id"],
            name=op.f("fk_kb_vectors_chunk_id_kb_chunks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_vectors")),
        sa.UniqueConstraint("chunk_id", "model", name=op.f("uq_kb_vectors_chunk_id_model")),
    )
    with op.batch_alter_table("kb_vectors") as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_vectors_document_id"), ["document_id"])
        batch_op.create_index(batch_op.f("ix_kb_vectors_kb_id"), ["kb_id"])


def downgrade() -> None:
    op.drop_table("kb_vectors")
