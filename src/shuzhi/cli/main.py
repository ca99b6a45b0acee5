"""The ``shuzhi`` command. Errors become one readable line and an exit code, never a traceback."""

from __future__ import annotations

import sys

import typer

from shuzhi import __version__
from shuzhi.cli import data, db, hotline, jobs, kb, platform, scenarios, serve, worker
from shuzhi.cli import models as models_cli
from shuzhi.cli.common import err_console
from shuzhi.errors import ShuzhiError, UserError

app = typer.Typer(
    help="数智 shuzhi：政务数智员工平台", no_args_is_help=True, pretty_exceptions_enable=False
)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(models_cli.app, name="models")
app.add_typer(data.app, name="data")
app.command("worker")(worker.worker)
app.add_typer(jobs.app, name="jobs")
app.add_typer(hotline.app, name="hotline")
app.add_typer(scenarios.app, name="scenarios")
app.add_typer(kb.app, name="kb")
app.add_typer(platform.users_app, name="users")
app.add_typer(platform.departments_app, name="departments")
app.add_typer(platform.audit_app, name="audit")
app.add_typer(platform.reviews_app, name="reviews")


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app(standalone_mode=False)
    except ShuzhiError as exc:
        err_console.print(f"[bold red]错误：[/]{exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"[yellow]提示：[/]{exc.hint}", highlight=False)
        sys.exit(2 if isinstance(exc, UserError) else 1)
    except typer.Abort:
        err_console.print("已取消")
        sys.exit(130)
    except Exception as exc:  # click's own usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
