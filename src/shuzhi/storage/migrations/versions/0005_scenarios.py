"""scenarios tables: scenario_runs (one row per run, with its rule explanations)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shuzhi.storage.types import JSONType, UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scenario_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("scenario_slug", sa.String(length=96), nullable=False),
        sa.Column("scenario_version", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("employee_slug", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("inputs", JSONType, nullable=False),
        sa.Column("outputs", JSONType, nullable=False),
        sa.Column("explanations", JSONType, nullable=False),
        sa.Column("citations", JSONType, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("review_task_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_scenario_runs_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_runs")),
        sa.UniqueConstraint("public_id", name=op.f("uq_scenario_runs_public_id")),
    )
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_scenario_runs_field"), ["field"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_scenario_slug"), ["scenario_slug"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_scenario_runs_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_runs_status"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_scenario_slug"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_field"))
        batch_op.drop_index(batch_op.f("ix_scenario_runs_department_id"))
    op.drop_table("scenario_runs")
