from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from shuzhi.api import create_app
from shuzhi.cli.common import console, database, settings, setup_logging
from shuzhi.platform.bootstrap import bootstrap


def serve(
    host: Annotated[
        str | None, typer.Option(help="监听地址，默认 SHUZHI_HOST 或 127.0.0.1")
    ] = None,
    port: Annotated[int | None, typer.Option(help="端口，默认 SHUZHI_PORT 或 8000")] = None,
) -> None:
    """Start the HTTP API and the console."""
    cfg = settings()
    setup_logging(cfg.log_level)
    db = database(cfg)
    with db.session() as session:
        first = bootstrap(session)
    if first is not None:
        # Printed to the terminal once, never logged: the operator must change it at first login.
        console.print(
            f"[bold yellow]首次启动：已创建管理员 {first.username}，一次性密码 {first.password}[/]"
            "（仅显示这一次，请登录后立即修改）"
        )
    app = create_app(cfg, db)
    uvicorn.run(app, host=host or cfg.host, port=port or cfg.port, log_level="info")
