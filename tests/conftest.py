"""Shared fixtures. Storage fixtures run on every backend in ``SHUZHI_TEST_BACKENDS``.

``SHUZHI_TEST_BACKENDS`` defaults to ``sqlite,postgresql``. PostgreSQL comes from
``SHUZHI_TEST_POSTGRES_URL`` (a database the tests may wipe) or, when unset, a temporary database
created on ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` and dropped afterwards.
Outside CI an unreachable PostgreSQL skips its tests; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shuzhi.config import Settings
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import upgrade
from shuzhi.storage.models import Base

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _backends() -> list[str]:
    raw = os.environ.get("SHUZHI_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in raw.split(",") if b.strip()]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("SHUZHI_TEST_POSTGRES_URL")
    if given:
        engine = create_engine(given, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        except Exception as exc:
            _postgres_unavailable(str(exc).splitlines()[0])
        finally:
            engine.dispose()
        yield given
        return
    name = f"shuzhi_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _postgres_unavailable(str(exc).splitlines()[0])
    yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_url: str) -> str:
    db = Database(postgres_url)
    upgrade(db)
    db.dispose()
    return postgres_url


def _truncate_all(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL on each configured backend."""
    if request.param == "sqlite":
        target = tmp_path / "shuzhi.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("migrated_postgres")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    if database.dialect == "postgresql":
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, secret_key="test-secret")


@pytest.fixture
def shared_data() -> Path:
    """The real public data beside the checkout; tests using it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModelServer]:
    """A scripted OpenAI-compatible server on a free local port (see shuzhi.gateway.testing)."""
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def env(settings: Settings, db: Database) -> dict[str, str]:
    """Environment for running the ``shuzhi`` command on this test's database (``db`` empties a
    shared PostgreSQL first)."""
    return {
        "SHUZHI_DATABASE_URL": settings.effective_database_url,
        "SHUZHI_DATA_DIR": str(settings.data_dir),
        "SHUZHI_SECRET_KEY": "test-secret",
        "SHUZHI_CONFIG": str(settings.data_dir / "none.toml"),
        "COLUMNS": "200",
    }
