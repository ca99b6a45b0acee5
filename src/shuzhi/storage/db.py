"""The database handle: one engine and one session factory per process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.errors import ConfigError, StorageUnavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10


def utcnow() -> datetime:
    return datetime.now(UTC)


def redact_url(url: str) -> str:
    """The URL as it may be shown: the password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while a job writes; busy_timeout makes writers wait instead of fail.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, setting: str = "SHUZHI_DATABASE_URL") -> Engine:
    """The engine for ``url``; a missing driver or an unusable SQLite path names ``setting``."""
    try:
        return _make_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"{setting} 无法使用：{redact_url(url)} 所需的数据库驱动不可用（{exc}）；"
            "请使用 postgresql+psycopg://… 或 sqlite:///…"
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"{setting} 无法使用：不能创建 SQLite 数据库所在目录（{exc}）；请改为可写的目录"
        ) from exc


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,  # statement values (citizens' data) never reach a log line
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        # Without it a host that drops packets keeps `shuzhi serve` waiting for minutes.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args,
        hide_parameters=True,
    )


def _first_line(exc: SQLAlchemyError) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (reason[0] if reason else type(exc).__name__).removeprefix("connection failed: ")


class Database:
    """Engine plus session factory. ``session()`` commits on success and rolls back on error.

    ``setting`` names where the URL came from, for error messages (``SHUZHI_DATA_DIR`` when it is
    the embedded default).
    """

    def __init__(self, url: str, *, setting: str = "SHUZHI_DATABASE_URL") -> None:
        self.url = url
        self.setting = setting
        self.engine = make_engine(url, setting)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check_connection(self) -> None:
        """Fail with one line naming the setting if the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, SQLAlchemyError) as exc:
            raise StorageUnavailable(
                f"{self.setting} 指向的数据库无法连接：{redact_url(self.url)}"
                f"（{_first_line(exc)}）；请确认数据库服务已启动，地址、端口、用户名、密码和库名正确"
            ) from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
