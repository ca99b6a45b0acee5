from __future__ import annotations

import typer

from shuzhi.cli.common import connect, console
from shuzhi.storage.db import redact_url
from shuzhi.storage.migrate import current_revisions, head_revisions, upgrade

app = typer.Typer(help="数据库：迁移与状态", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply every pending migration to the configured database."""
    db = connect()
    upgrade(db)
    console.print(
        f"[green]已迁移到最新版本[/] {redact_url(db.url)}：{sorted(current_revisions(db))}"
    )


@app.command("current")
def current_cmd() -> None:
    """Show the database's migration revision and the newest one shipped."""
    db = connect()
    console.print(f"数据库：{redact_url(db.url)}")
    console.print(f"当前版本：{sorted(current_revisions(db)) or '（空库）'}")
    console.print(f"最新版本：{sorted(head_revisions(db))}")
