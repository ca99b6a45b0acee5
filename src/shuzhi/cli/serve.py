from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from shuzhi.cli.common import console, database, err_console, settings, setup_logging
from shuzhi.config import Settings
from shuzhi.errors import UserError, os_error_zh
from shuzhi.storage.db import Database

if TYPE_CHECKING:
    from shuzhi.platform.bootstrap import FirstAdmin

HostOption = Annotated[str | None, typer.Option(help="监听地址，默认 SHUZHI_HOST 或 127.0.0.1")]
PortOption = Annotated[int | None, typer.Option(help="端口，默认 SHUZHI_PORT 或 8000")]


def prepare(cfg: Settings) -> Database:
    """Open (and on the embedded default, migrate) the database; create the first admin."""
    from shuzhi.knowledge import thesaurus
    from shuzhi.platform.bootstrap import bootstrap

    setup_logging(cfg.log_level)
    thesaurus.for_settings(cfg)  # a bad local thesaurus stops the start, not the first search
    db = database(cfg)
    if cfg.redis_url:
        _warn_if_redis_is_down(cfg.redis_url)
    with db.session() as session:
        first = bootstrap(session)
    _print_admin(first)
    return db


def _print_admin(first: FirstAdmin | None) -> None:
    if first is None:
        console.print(
            "已有账户，沿用现有管理员（不会新建，也不会改密码）。"
            "忘记密码：shuzhi users reset-password admin",
            soft_wrap=True,
        )
        return
    # Printed to the terminal once, never logged: the operator must change it at first login.
    # One unwrapped line, so the password can be copied whole.
    console.print(
        f"[bold yellow]首次启动：已创建管理员 {first.username}，一次性密码 {first.password}[/]"
        "（仅显示这一次，请登录后立即修改）",
        soft_wrap=True,
        highlight=False,
    )


def _warn_if_redis_is_down(url: str) -> None:
    """An API server still accepts jobs without Redis (workers' upkeep re-sends them later)."""
    from shuzhi.errors import UpstreamError
    from shuzhi.jobs.redis_queue import check_redis

    try:
        check_redis(url)
    except UpstreamError as exc:
        err_console.print(f"[yellow]警告：[/]{exc.message}；任务照常受理，Redis 恢复后再分发")


def listen_address(cfg: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    return host or cfg.host, cfg.port if port is None else port  # --port 0 is refused, not 8000


def ensure_port_free(host: str, port: int) -> None:
    """Fail before any work when the address cannot be listened on (uvicorn says it in English).

    The probe sets SO_REUSEADDR as uvicorn does, so a port left in TIME_WAIT counts as free.
    """
    if not 0 < port < 65536:
        raise UserError(f"端口 {port} 不在 1–65535 之间：用 --port 或 SHUZHI_PORT 指定端口")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _listen_error(host, port, exc) from exc


def _listen_error(host: str, port: int, exc: OSError) -> UserError:
    if exc.errno == errno.EADDRINUSE:
        return UserError(
            f"端口 {port} 已被占用（另一个程序或另一个 shuzhi 正在使用）："
            f"用 --port 换一个端口，例如 --port {port + 1}，或设置 SHUZHI_PORT"
        )
    if exc.errno == errno.EACCES:
        return UserError(
            f"没有权限监听端口 {port}（1024 以下的端口需要管理员权限）：用 --port 换一个端口"
        )
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return UserError(f"本机没有监听地址 {host}：用 --host 或 SHUZHI_HOST 指定本机的地址")
    return UserError(
        f"无法监听 {host}:{port}（{os_error_zh(exc)}）：检查 --host / SHUZHI_HOST 与 --port"
    )


def run_server(cfg: Settings, db: Database, host: str | None, port: int | None) -> None:
    import uvicorn

    from shuzhi.api import create_app

    host, port = listen_address(cfg, host, port)
    console.print(f"控制台：http://{host}:{port}/console   接口文档：http://{host}:{port}/docs")
    uvicorn.run(create_app(cfg, db), host=host, port=port, log_level="info")


def serve(host: HostOption = None, port: PortOption = None) -> None:
    """启动 HTTP 接口与管理控制台"""
    cfg = settings()
    ensure_port_free(*listen_address(cfg, host, port))
    run_server(cfg, prepare(cfg), host, port)
