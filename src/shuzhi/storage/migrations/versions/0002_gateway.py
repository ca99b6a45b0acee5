"""gateway tables

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shuzhi.storage.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = shuzhi.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trust_zone", sa.String(length=16), nullable=False),
        sa.Column("mask", sa.Boolean(), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_env", sa.String(length=128), nullable=True),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("rpm_limit", sa.Integer(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("price_input", sa.Float(), nullable=False),
        sa.Column("price_cached_input", sa.Float(), nullable=False),
        sa.Column("price_output", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("extra_body", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_endpoints")),
        sa.UniqueConstraint("name", name=op.f("uq_model_endpoints_name")),
    )
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("endpoints", JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_aliases")),
        sa.UniqueConstraint("name", name=op.f("uq_model_aliases_name")),
    )
    with op.batch_alter_table("model_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("operation", sa.String(length=16), nullable=False, server_default="chat")
        )
        batch_op.add_column(
            sa.Column("stream", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("first_token_ms", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_model_usage_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_usage_request_id"))
        batch_op.drop_column("currency")
        batch_op.drop_column("first_token_ms")
        batch_op.drop_column("stream")
        batch_op.drop_column("operation")
        batch_op.drop_column("request_id")
    op.drop_table("model_aliases")
    op.drop_table("model_endpoints")
