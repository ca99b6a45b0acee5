"""The ``shuzhi`` command. Errors become one readable line and an exit code, never a traceback."""

from __future__ import annotations

import os
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


def undecodable_argument(args: list[str]) -> str | None:
    """The first argument that is not UTF-8 text (a GBK terminal, a character cut in two), as
    it can be shown; None when all are. A path that exists is left alone: a file named in GBK
    on disk is still a file to read."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if not os.path.lexists(arg):
                return os.fsencode(arg).decode("utf-8", "replace")
    return None


def main() -> None:
    # Usage errors are click's to print (exit 2); our own errors become one line and a hint.
    bad = undecodable_argument(sys.argv[1:])
    if bad is not None:
        err_console.print(
            f"[bold red]错误：[/]参数“{bad[:60]}”不是 UTF-8 编码的文字", highlight=False
        )
        err_console.print(
            "[yellow]提示：[/]把终端的字符编码设为 UTF-8（如 export LANG=C.UTF-8）后重新输入",
            highlight=False,
        )
        sys.exit(2)
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
