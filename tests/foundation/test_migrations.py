from __future__ import annotations

from sqlalchemy import inspect

from shuzhi.storage.db import Database
from shuzhi.storage.migrate import current_revisions, head_revisions, is_up_to_date, upgrade
from shuzhi.storage.models import Base


def test_migrations_run_forward_on_an_empty_database(db_url: str) -> None:
    db = Database(db_url)
    assert is_up_to_date(db)
    assert current_revisions(db) == head_revisions(db)


def test_migrated_schema_matches_the_models(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert expected <= tables
    for name in (
        "departments",
        "users",
        "employees",
        "employee_versions",
        "scenarios",
        "conversations",
        "messages",
        "work_orders",
        "review_tasks",
        "jobs",
        "model_usage",
        "audit_log",
    ):
        assert name in tables


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    upgrade(db)
    assert is_up_to_date(db)


def test_no_model_change_lacks_a_migration(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models changed without a migration: {diff}"
