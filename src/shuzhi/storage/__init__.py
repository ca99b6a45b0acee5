"""Storage: tables, sessions and migrations, on SQLite (embedded) or PostgreSQL (production)."""

from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Base

__all__ = ["Base", "Database", "utcnow"]
