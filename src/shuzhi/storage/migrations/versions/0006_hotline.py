"""hotline tables: provenance and proposal details on work orders

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shuzhi.storage.types import JSONType

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=16), nullable=False, server_default="offline")
        )
        batch_op.add_column(sa.Column("sources", JSONType, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("details", JSONType, nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("reply_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_column("reply_status")
        batch_op.drop_column("details")
        batch_op.drop_column("sources")
        batch_op.drop_column("mode")
