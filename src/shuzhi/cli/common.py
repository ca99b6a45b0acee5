"""What every command shares: the console, settings, the database, and error translation."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rich.console import Console

from shuzhi.config import Settings, load_settings
from shuzhi.storage.db import Database
from shuzhi.storage.setup import connect as connect_database
from shuzhi.storage.setup import open_database
from shuzhi.validation import check_name

console = Console()
# Errors are one line each: never wrapped at the terminal's width.
err_console = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    return load_settings()


def database(settings_: Settings | None = None, *, migrate: bool | None = None) -> Database:
    """The configured database, checked and (on the embedded default) migrated."""
    return open_database(settings_ or settings(), migrate=migrate)


def connect(settings_: Settings | None = None) -> Database:
    """The configured database, checked but left as it is (for the migration commands)."""
    return connect_database(settings_ or settings())


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def printable(field: str, *, multiline: bool = False) -> Callable[[str | None], str | None]:
    """A typer callback that refuses an argument holding control characters, naming ``field``."""

    def check(value: str | None) -> str | None:
        return None if value is None else check_name(value, field, multiline=multiline)

    return check
