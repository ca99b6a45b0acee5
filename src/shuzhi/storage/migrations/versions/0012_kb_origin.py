"""knowledge: where each document was imported from

A file given by itself is keyed by its name alone, so a different file of the same name replaces
it on the next import. ``origin`` (the file's absolute path, or ``upload:<account>``) lets the
import report say so instead of replacing quietly. Documents imported before this revision have
an empty origin; the next import that sees them unchanged records it.

Revision ID: 0012_kb_origin
Revises: 0011_kb_postings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_kb_origin"
down_revision: str | Sequence[str] | None = "0011_kb_postings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "kb_documents",
        sa.Column("origin", sa.String(length=1024), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("kb_documents") as batch_op:
        batch_op.drop_column("origin")
