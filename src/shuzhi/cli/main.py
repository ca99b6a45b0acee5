"""The ``shuzhi`` command. Errors become one readable line and an exit code, never a traceback."""

from __future__ import annotations

import sys

import typer

from shuzhi import __version__
from shuzhi.cli.common import err_console
from shuzhi.cli.lazy import LazyGroup, chinese_help_words
from shuzhi.errors import ShuzhiError, UserError, os_error_zh
from shuzhi.storage.refusals import REFUSED, refusal_message

# Sub-commands are listed in shuzhi/cli/lazy.py and imported only when invoked.
chinese_help_words()
app = typer.Typer(
    cls=LazyGroup,
    help="数智 shuzhi：政务数智员工平台",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """数智 shuzhi：政务数智员工平台"""


@app.command("version")
def version() -> None:
    """显示版本号"""
    typer.echo(__version__)


def main() -> None:
    # Usage errors are click's to print (exit 2); our own errors become one line and a hint.
    try:
        app()
    except ShuzhiError as exc:
        err_console.print(f"[bold red]错误：[/]{exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"[yellow]提示：[/]{exc.hint}", highlight=False)
        sys.exit(2 if isinstance(exc, UserError) else 1)
    except REFUSED as exc:  # a value the database refused (a missing department, a long text)
        err_console.print(f"[bold red]错误：[/]{refusal_message(exc)}", highlight=False)
        sys.exit(2)
    except OSError as exc:  # a path given that cannot be read or written (--out on a file, …)
        where = f"：{exc.filename}" if exc.filename else ""
        err_console.print(f"[bold red]错误：[/]{os_error_zh(exc)}{where}", highlight=False)
        err_console.print("[yellow]提示：[/]检查路径、文件是否存在和读写权限", highlight=False)
        sys.exit(1)
