"""platform tables: login sessions, audit anchors, named reviewers and escalation

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shuzhi.storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit log is append-only in the database too (等保 2.0 8.1.4.3 c): updates are refused, and
# on PostgreSQL deletes are refused unless the transaction is the retention pruning, which sets
# ``shuzhi.audit_prune``. Someone with the database owner's rights can still lift this; the hash
# chain is what detects that.
PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION shuzhi_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('shuzhi.audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (%)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION shuzhi_audit_append_only();
"""
SQLITE_APPEND_ONLY = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (UPDATE)'); END;
"""


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_APPEND_ONLY)
    elif dialect == "sqlite":
        op.execute(SQLITE_APPEND_ONLY)


def upgrade() -> None:
    _append_only()
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("pruned_through_id", sa.Integer(), nullable=False),
        sa.Column("pruned_before", UTCDateTime(), nullable=False),
        sa.Column("pruned_count", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("review_tasks") as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_name", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_review_tasks_assignee_id_users"), "users", ["assignee_id"], ["id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS shuzhi_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only")
    with op.batch_alter_table("review_tasks") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_review_tasks_assignee_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("decided_by_name")
        batch_op.drop_column("assignee_id")
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))
    op.drop_table("login_sessions")
    op.drop_table("audit_anchors")
