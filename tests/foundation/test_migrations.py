from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import current_revisions, head_revisions, is_up_to_date, upgrade
from shuzhi.storage.models import Base
from shuzhi.storage.setup import open_database


@pytest.fixture
def empty_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all, on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"shuzhi_empty_{uuid.uuid4().hex[:10]}"
    server = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_migrations_run_forward_on_an_empty_database(empty_db_url: str) -> None:
    db = Database(empty_db_url)
    assert inspect(db.engine).get_table_names() == []
    assert current_revisions(db) == set()

    upgrade(db)

    assert current_revisions(db) == head_revisions(db)
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    db.dispose()


def test_shuzhi_db_upgrade_migrates_an_empty_database(empty_db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHUZHI_DATABASE_URL": empty_db_url,
        "SHUZHI_DATA_DIR": str(tmp_path / "data"),
        "SHUZHI_CONFIG": str(tmp_path / "absent.toml"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "db", "upgrade"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    db = Database(empty_db_url)
    assert is_up_to_date(db)
    db.dispose()


def test_a_server_refuses_an_outdated_postgresql_schema(empty_db_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=empty_db_url)
    if settings.is_embedded_database:
        db = open_database(settings)  # the embedded default migrates itself
        assert is_up_to_date(db)
        db.dispose()
        return
    with pytest.raises(ConfigError) as err:
        open_database(settings)
    assert "shuzhi db upgrade" in str(err.value)


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
