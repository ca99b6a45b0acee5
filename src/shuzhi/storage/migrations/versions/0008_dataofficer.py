"""dataofficer tables

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shuzhi.storage.types

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = shuzhi.storage.types.UTCDateTime(timezone=True)


def _dataset_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["dataset_id"],
        ["datasets.id"],
        name=op.f(f"fk_{table}_dataset_id_datasets"),
        ondelete="CASCADE",
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=500), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("storage_path", sa.String(length=500), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("profile", JSON, nullable=True),
        sa.Column("profiled_at", UTC, nullable=True),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_datasets_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_datasets_name")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_department_id"), ["department_id"])

    op.create_table(
        "dataset_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("inferred_type", sa.String(length=16), nullable=False),
        sa.Column("meaning", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("proposed_grade", sa.String(length=16), nullable=False),
        sa.Column("grade_reasons", JSON, nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_by_name", sa.String(length=128), nullable=True),
        sa.Column("confirmed_at", UTC, nullable=True),
        _dataset_fk("dataset_fields"),
        _user_fk("dataset_fields", "confirmed_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_fields")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_dataset_fields_dataset_id_name")),
    )
    with op.batch_alter_table("dataset_fields", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_fields_dataset_id"), ["dataset_id"])

    op.create_table(
        "quality_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        _dataset_fk("quality_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_rules")),
    )
    with op.batch_alter_table("quality_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_rules_dataset_id"), ["dataset_id"])

    op.create_table(
        "quality_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("triggered_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        _dataset_fk("quality_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_runs")),
    )
    with op.batch_alter_table("quality_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_runs_dataset_id"), ["dataset_id"])

    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("update_cycle", sa.String(length=32), nullable=False),
        sa.Column("sharing", sa.String(length=32), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("drafted_by", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_by_name", sa.String(length=128), nullable=True),
        sa.Column("confirmed_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        _dataset_fk("catalogue_entries"),
        _user_fk("catalogue_entries", "confirmed_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_entries")),
        sa.UniqueConstraint("dataset_id", name=op.f("uq_catalogue_entries_dataset_id")),
    )

    op.create_table(
        "sql_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_by_name", sa.String(length=128), nullable=True),
        sa.Column("approved_at", UTC, nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        _user_fk("sql_templates", "approved_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sql_templates")),
    )
    with op.batch_alter_table("sql_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sql_templates_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("sql_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sql_templates_status"))
    op.drop_table("sql_templates")
    op.drop_table("catalogue_entries")
    for table in ("quality_runs", "quality_rules", "dataset_fields"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_dataset_id"))
        op.drop_table(table)
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_department_id"))
    op.drop_table("datasets")
