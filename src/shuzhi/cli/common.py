"""What every command shares: the console, settings, the database, and error translation."""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from shuzhi.config import Settings, load_settings
from shuzhi.errors import InvalidInput, os_error_zh
from shuzhi.storage.db import Database
from shuzhi.storage.setup import connect as connect_database
from shuzhi.storage.setup import open_database
from shuzhi.validation import check_name

console = Console()
# Errors are one line each: never wrapped at the terminal's width.
err_console = Console(stderr=True, soft_wrap=True)


def cli_actor() -> str:
    """Who a command acts as in the audit log and on its records: ``cli:<login name>``.

    Whoever holds the server's shell and database settings already holds every power the console
    grants, so the login name is the only identity there is to record.
    """
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no $USER
        login = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{login}"


def unwritable(path: Path, exc: OSError) -> InvalidInput:
    """The refusal for an output file (``-o``) that cannot be written."""
    reason = os_error_zh(exc, writing=True)
    return InvalidInput(f"无法写入 {path}：{reason}", hint="检查 -o 给出的路径")


def settings() -> Settings:
    return load_settings()


def database(settings_: Settings | None = None, *, migrate: bool | None = None) -> Database:
    """The configured database, checked and (on the embedded default) migrated."""
    return open_database(settings_ or settings(), migrate=migrate)


def connect(settings_: Settings | None = None) -> Database:
    """The configured database, checked but left as it is (for the migration commands)."""
    return connect_database(settings_ or settings())


def setup_logging(level: str) -> None:
    from shuzhi.privacy.logs import install

    install()  # before the first record: personal data is masked in every log line
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # A fresh database's twenty migrations are a line each at INFO; on a first `shuzhi start`
    # they buried the administrator's one-time password. Shown again at DEBUG.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)


def printable(field: str, *, multiline: bool = False) -> Callable[[str | None], str | None]:
    """A typer callback that refuses an argument holding control characters, naming ``field``."""

    def check(value: str | None) -> str | None:
        return None if value is None else check_name(value, field, multiline=multiline)

    return check
