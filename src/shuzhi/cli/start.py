"""``shuzhi start``: the README's first command — the whole platform, working, on one machine.

1. the database (SQLite in the data directory unless configured) and the first administrator;
2. the shipped digital employees, each going on duty only if its scenarios' evaluation passes,
   and the knowledge bases they name (filled from the shared law corpus when it is present);
3. the main job: the 12345 hotline batch on the shared public data when it is beside the checkout,
   otherwise on a sample the project generates, with its workbook, JSON Lines and HTML report;
4. the HTTP API and the console.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from shuzhi.cli import labels
from shuzhi.cli.common import cli_actor, console, settings
from shuzhi.cli.serve import (
    HostOption,
    PortOption,
    ensure_port_free,
    listen_address,
    prepare,
    run_server,
)
from shuzhi.config import Settings
from shuzhi.storage.db import Database


def _employees_on_duty(db: Database) -> None:
    from shuzhi.employees import service

    with db.session() as session:
        rows = service.install_builtin(session)
        table = Table(title="数智员工", show_lines=False)
        for column in ("编号", "名称", "状态"):
            table.add_column(column)
        for row in rows:
            table.add_row(row.slug, row.name, service.STATE_LABELS.get(row.status, row.status))
    console.print(table)


def _employee_knowledge(cfg: Settings, db: Database) -> None:
    """The knowledge bases the shipped employees name, filled from the shared law corpus."""
    from shuzhi.employees import service
    from shuzhi.knowledge import KnowledgeService
    from shuzhi.scenarios.hotline.demo import shared_data_dir

    shared = shared_data_dir()
    laws = shared / "laws" if shared is not None and (shared / "laws").is_dir() else None
    for seeded in service.seed_knowledge(KnowledgeService(db, cfg), laws):
        source = (
            f"导入法规 {seeded.imported} 部"
            if seeded.imported
            else "暂无文件，可用 shuzhi kb import 导入"
        )
        grade = labels.zh("kb.grade", seeded.grade)
        console.print(f"已建知识库“{seeded.name}”（密级 {grade}）：{source}", soft_wrap=True)


def _hotline_demo(cfg: Settings, db: Database) -> None:
    from shuzhi.cli.hotline import _print_report_hint, _print_result, _run_with_bar
    from shuzhi.scenarios.hotline.demo import demo_inputs

    inputs = demo_inputs(cfg)
    console.print(f"[bold]12345 热线批量派单[/]　数据来源：{inputs.description}", soft_wrap=True)
    result = _run_with_bar(
        input_path=inputs.input_path,
        history=inputs.history,
        out_dir=cfg.data_dir / "hotline-demo",
        db=db,
        actor=cli_actor(),
        taxonomy=inputs.taxonomy,
    )
    _print_result(result)
    _print_report_hint(result)


def start(
    host: HostOption = None,
    port: PortOption = None,
    demo: Annotated[bool, typer.Option(help="启动前运行热线示例批量任务")] = True,
    serve: Annotated[bool, typer.Option(help="完成后启动平台（--no-serve 只运行任务）")] = True,
) -> None:
    """一键启动：按内置默认配置准备好数据库和预置员工，运行热线示例任务，然后启动平台"""
    cfg = settings()
    if serve:
        # Checked first: the hotline job takes a while, and the server is what fails at the end.
        ensure_port_free(*listen_address(cfg, host, port))
    db = prepare(cfg)
    _employees_on_duty(db)
    _employee_knowledge(cfg, db)
    if demo:
        _hotline_demo(cfg, db)
    if serve:
        run_server(cfg, db, host, port)
