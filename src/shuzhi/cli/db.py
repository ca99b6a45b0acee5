from __future__ import annotations

import typer

from shuzhi.cli.common import connect, console
from shuzhi.storage.db import redact_url
from shuzhi.storage.migrate import current_revisions, head_revisions, upgrade

app = typer.Typer(help="数据库：迁移与状态", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """把配置的数据库迁移到最新版本（执行尚未执行的迁移）"""
    db = connect()
    upgrade(db)
    console.print(
        f"[green]已迁移到最新版本[/] {redact_url(db.url)}：{sorted(current_revisions(db))}"
    )


@app.command("current")
def current_cmd() -> None:
    """显示数据库当前的迁移版本和软件自带的最新版本"""
    db = connect()
    console.print(f"数据库：{redact_url(db.url)}")
    console.print(f"当前版本：{sorted(current_revisions(db)) or '（空库）'}")
    console.print(f"最新版本：{sorted(head_revisions(db))}")
