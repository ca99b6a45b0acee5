"""employees: bound citizen identity and masking vault on conversations

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shuzhi.storage.types import JSONType

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("citizen_ref", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("vault", JSONType, nullable=False, server_default=sa.text("'{}'"))
        )
        batch.create_index(batch.f("ix_conversations_citizen_ref"), ["citizen_ref"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index(batch.f("ix_conversations_citizen_ref"))
        batch.drop_column("vault")
        batch.drop_column("citizen_ref")
