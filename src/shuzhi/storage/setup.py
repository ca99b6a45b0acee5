"""Open the configured database, checking it and bringing its schema up to date."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import is_up_to_date, upgrade

log = logging.getLogger(__name__)


def private_data_dir(path: Path) -> None:
    """Create the data directory readable by its owner only: it holds the embedded database,
    citizens' uploaded files and conversations in clear, and other local accounts must not read
    them. A directory that exists already is left as the operator made it, with a warning when
    others may read it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = path.stat().st_mode
    except OSError:
        return  # the database check that follows names the problem in Chinese
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "data directory %s is open to other local users (mode %o); "
            "chmod 700 it, it holds citizens' data",
            path,
            stat.S_IMODE(mode),
        )


def connect(settings: Settings) -> Database:
    """The configured database, checked but not migrated; errors name the setting behind it."""
    private_data_dir(settings.data_dir)
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
