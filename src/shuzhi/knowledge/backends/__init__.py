"""Search backends behind one small interface: tantivy on disk, or PostgreSQL full text."""

from __future__ import annotations

from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.knowledge.backends.base import Hit, IndexEntry, SearchBackend, SearchRequest
from shuzhi.storage.db import Database

__all__ = ["Hit", "IndexEntry", "SearchBackend", "SearchRequest", "make_backend"]

BACKENDS = ("tantivy", "postgres")


def make_backend(db: Database, settings: Settings, kind: str | None = None) -> SearchBackend:
    """Tantivy on the embedded database, PostgreSQL full text when the database is PostgreSQL.

    ``kind`` overrides the choice (e.g. a single-node PostgreSQL deployment that prefers tantivy).
    """
    kind = kind or ("postgres" if db.dialect == "postgresql" else "tantivy")
    if kind == "tantivy":
        from shuzhi.knowledge.backends.tantivy_index import TantivyBackend

        return TantivyBackend(settings.data_dir / "index" / "knowledge")
    if kind == "postgres":
        if db.dialect != "postgresql":
            raise ConfigError(
                "PostgreSQL 全文检索后端需要 PostgreSQL 数据库",
                hint="设置 SHUZHI_DATABASE_URL 为 PostgreSQL，或改用 tantivy 后端",
            )
        from shuzhi.knowledge.backends.postgres import PostgresBackend

        return PostgresBackend(db)
    raise ConfigError(f"未知的检索后端：{kind!r}", hint=f"可选：{'、'.join(BACKENDS)}")
