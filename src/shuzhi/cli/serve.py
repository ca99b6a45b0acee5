from __future__ import annotations

from typing import Annotated

import typer

from shuzhi.cli.common import console, database, err_console, settings, setup_logging
from shuzhi.config import Settings
from shuzhi.storage.db import Database

HostOption = Annotated[str | None, typer.Option(help="监听地址，默认 SHUZHI_HOST 或 127.0.0.1")]
PortOption = Annotated[int | None, typer.Option(help="端口，默认 SHUZHI_PORT 或 8000")]


def prepare(cfg: Settings) -> Database:
    """Open (and on the embedded default, migrate) the database; create the first admin."""
    from shuzhi.platform.bootstrap import bootstrap

    setup_logging(cfg.log_level)
    db = database(cfg)
    if cfg.redis_url:
        _warn_if_redis_is_down(cfg.redis_url)
    with db.session() as session:
        first = bootstrap(session)
    if first is not None:
        # Printed to the terminal once, never logged: the operator must change it at first login.
        console.print(
            f"[bold yellow]首次启动：已创建管理员 {first.username}，一次性密码 {first.password}[/]"
            "（仅显示这一次，请登录后立即修改）"
        )
    return db


def _warn_if_redis_is_down(url: str) -> None:
    """An API server still accepts jobs without Redis (workers' upkeep re-sends them later)."""
    from shuzhi.errors import UpstreamError
    from shuzhi.jobs.redis_queue import check_redis

    try:
        check_redis(url)
    except UpstreamError as exc:
        err_console.print(f"[yellow]警告：[/]{exc.message}；任务照常受理，Redis 恢复后再分发")


def run_server(cfg: Settings, db: Database, host: str | None, port: int | None) -> None:
    import uvicorn

    from shuzhi.api import create_app

    host, port = host or cfg.host, port or cfg.port
    console.print(f"控制台：http://{host}:{port}/console   接口文档：http://{host}:{port}/docs")
    uvicorn.run(create_app(cfg, db), host=host, port=port, log_level="info")


def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Start the HTTP API and the console."""
    cfg = settings()
    run_server(cfg, prepare(cfg), host, port)
