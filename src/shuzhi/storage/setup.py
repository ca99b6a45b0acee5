"""Open the configured database, checking it and bringing its schema up to date."""

from __future__ import annotations

from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import is_up_to_date, upgrade


def connect(settings: Settings) -> Database:
    """The configured database, checked but not migrated; errors name the setting behind it."""
    setting = "SHUZHI_DATABASE_URL" if settings.database_url else "SHUZHI_DATA_DIR"
    db = Database(settings.effective_database_url, setting=setting)
    db.check_connection()
    return db


def open_database(settings: Settings, *, migrate: bool | None = None) -> Database:
    """Connect and check. ``migrate`` defaults to True on the embedded SQLite database only.

    On PostgreSQL several servers share one schema, so upgrading it is an operator's step
    (``shuzhi db upgrade``), never a side effect of starting a server.
    """
    db = connect(settings)
    if migrate is None:
        migrate = settings.is_embedded_database
    if migrate:
        upgrade(db)
    elif not is_up_to_date(db):
        raise ConfigError(
            "数据库结构不是最新版本",
            hint="先运行 `shuzhi db upgrade`（使用同一个 SHUZHI_DATABASE_URL）",
        )
    return db
