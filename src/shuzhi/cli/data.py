"""``shuzhi data``: the AI data officer from the command line.

``profile`` and ``quality`` accept a file (registered on the fly, under its file name) or the name
of a registered dataset. The command line acts as the local operator; grade and catalogue
decisions need a named reviewer and are made in the console or through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from shuzhi.cli.common import cli_actor, console, database, printable, settings
from shuzhi.cn.clock import ZONE_ZH, local_time
from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.model import drafters
from shuzhi.dataofficer.profile import DatasetProfile
from shuzhi.dataofficer.quality import KIND_LABELS
from shuzhi.dataofficer.sensitive import Grade, kind_label
from shuzhi.errors import NotFound
from shuzhi.gateway import Caller, Gateway
from shuzhi.platform.identity import Principal
from shuzhi.platform.roles import Role
from shuzhi.storage.models import Dataset

app = typer.Typer(help="AI 数据官：数据集登记、画像、分级、质量与问数", no_args_is_help=True)


def _local() -> Principal:
    """The operator at the server's terminal, who may read every registered dataset."""
    return Principal(name=cli_actor(), roles=frozenset({(Role.SYSTEM_ADMIN.value, None)}))


FileNameOption = Annotated[
    str | None,
    typer.Option(
        "--name", help="TARGET 为文件时登记用的数据集名称（小写字母、数字、下划线），默认取文件名"
    ),
]


def _resolve(
    session: Session, cfg: Settings, target: str, *, sheet: str | None, name: str | None = None
) -> Dataset:
    """A registered dataset by name, or the file at ``target`` registered (again) under ``name``
    (by default its file name)."""
    path = Path(target)
    if path.is_file():
        name = service.dataset_name(name or path.stem)
        return service.register_file(
            session, cfg, path, name=name, actor=cli_actor(), sheet=sheet, replace=True
        )
    try:
        return service.get_dataset(session, target)
    except NotFound:
        raise NotFound(
            f"既不是文件也不是已登记的数据集：{target}", hint="检查路径，或用 `shuzhi data list`"
        ) from None


@app.command("register")
def register_cmd(
    file: Annotated[Path, typer.Argument(help="CSV（UTF-8/GBK）或 xlsx 文件")],
    name: Annotated[
        str | None,
        typer.Option(help="数据集名称（小写字母、数字、下划线）", callback=printable("数据集名称")),
    ] = None,
    title: Annotated[str, typer.Option(help="中文标题", callback=printable("标题"))] = "",
    sheet: Annotated[str | None, typer.Option(help="Excel 工作表名")] = None,
    replace: Annotated[bool, typer.Option(help="同名数据集已存在时替换")] = False,
) -> None:
    """把文件登记为数据集"""
    cfg = settings()
    with database(cfg).session() as session:
        dataset = service.register_file(
            session,
            cfg,
            file,
            name=name,
            title=title,
            actor=cli_actor(),
            sheet=sheet,
            replace=replace,
        )
        console.print(
            f"[green]已登记[/] {dataset.name}：{dataset.row_count} 行，{len(dataset.columns)} 列"
            + (f"，编码 {dataset.encoding}" if dataset.encoding else "")
        )


@app.command("register-db")
def register_db_cmd(
    url: Annotated[str, typer.Argument(help="sqlite:///路径 或 postgresql+psycopg://...")],
    table: Annotated[str, typer.Argument(help="表名", callback=printable("表名"))],
    name: Annotated[
        str | None, typer.Option(help="数据集名称", callback=printable("数据集名称"))
    ] = None,
    replace: Annotated[bool, typer.Option(help="同名数据集已存在时替换")] = False,
) -> None:
    """把数据库中的一张表（只读）登记为数据集"""
    cfg = settings()
    with database(cfg).session() as session:
        dataset = service.register_database(
            session, cfg, url, table, name=name, actor=cli_actor(), replace=replace
        )
        console.print(f"[green]已登记[/] {dataset.name}：{dataset.row_count} 行")


@app.command("list")
def list_cmd() -> None:
    """列出已登记的数据集"""
    with database().session() as session:
        table = Table("名称", "标题", "行数", "列数", "来源", f"分析时间（{ZONE_ZH}）")
        for d in service.list_datasets(session):
            when = local_time(d.profiled_at) if d.profiled_at else "未分析"
            table.add_row(
                d.name, d.title, str(d.row_count), str(len(d.columns)), d.source_kind, when
            )
        console.print(table)


@app.command("profile")
def profile_cmd(
    target: Annotated[str, typer.Argument(help="文件路径或已登记的数据集名称")],
    sheet: Annotated[str | None, typer.Option(help="Excel 工作表名")] = None,
    name: FileNameOption = None,
) -> None:
    """数据集画像：类型、空值率、不同值个数、格式、敏感字段、分级"""
    cfg = settings()
    with database(cfg).session() as session:
        dataset = _resolve(session, cfg, target, sheet=sheet, name=name)
        with console.status(f"正在分析 {dataset.name}（{dataset.row_count} 行）…"):
            profile = service.profile_dataset(session, dataset)
        grades = {f.name: f.proposed_grade for f in service.fields_of(session, dataset.id)}
        _print_profile(dataset.name, profile, grades)


def _print_profile(name: str, profile: DatasetProfile, grades: dict[str, str]) -> None:
    console.print(f"[bold]{name}[/]：{profile.rows} 行，用时 {profile.seconds:.2f} 秒")
    table = Table("列", "类型", "空值率", "不同值", "常见形态", "敏感类型", "建议分级", "示例")
    for c in profile.columns:
        table.add_row(
            c.name,
            c.inferred_type,
            f"{c.null_rate:.1%}",
            str(c.distinct),
            c.patterns[0][0] if c.patterns else "",
            kind_label(c.pii_kind) if c.pii_kind else "",
            Grade(grades.get(c.name, "general")).label_zh,
            "、".join(c.sample[:2]),
        )
    console.print(table)
    console.print("分级为 AI 建议，须由数据官在控制台确认。", style="dim")


@app.command("quality")
def quality_cmd(
    target: Annotated[str, typer.Argument(help="文件路径或已登记的数据集名称")],
    sheet: Annotated[str | None, typer.Option(help="Excel 工作表名")] = None,
    rows: Annotated[int, typer.Option(help="每条规则显示的失败行数")] = 3,
    name: FileNameOption = None,
) -> None:
    """运行质量规则（还没有规则时按画像生成建议规则）"""
    cfg = settings()
    with database(cfg).session() as session:
        dataset = _resolve(session, cfg, target, sheet=sheet, name=name)
        if not service.rules_of(session, dataset.id):
            with console.status("首次检查：先分析数据并生成建议规则…"):
                service.profile_dataset(session, dataset)
        with console.status(f"正在检查 {dataset.name}…"):
            run = service.run_quality(session, dataset.id, triggered_by=cli_actor())
        _print_run(run.results, run.score, run.row_count, rows)


def _print_run(results: list[dict[str, Any]], score: float, total: int, shown: int) -> None:
    table = Table("规则", "类型", "失败行数", "失败率")
    for r in results:
        table.add_row(
            r["description"], KIND_LABELS[r["rule"]["kind"]], str(r["failing"]), f"{r['rate']:.2%}"
        )
    console.print(table)
    console.print(f"质量得分：[bold]{score:.2f}[/]（共 {total} 行）")
    for r in results:
        for row in r["failing_rows"][:shown]:
            values = "，".join(f"{k}={v}" for k, v in row.items())
            console.print(f"  [red]✗[/] {r['description']}：{values}", highlight=False)


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="用自然语言提问，例如：各区的留言数量")],
    max_rows: Annotated[int, typer.Option(help="最多返回行数")] = 50,
) -> None:
    """就已登记的数据集用自然语言提问，显示 SQL 和结果"""
    cfg = settings()
    db = database(cfg)
    gateway = Gateway(db, cfg)
    try:
        sql_drafter, _ = drafters(gateway, Caller("user", cli_actor()))
        with db.session() as session:
            answer = service.ask(
                session, cfg, question, _local(), drafter=sql_drafter, max_rows=max_rows
            )
    finally:
        gateway.close()
    label = "离线模板" if answer.mode == "offline" else f"模型 {answer.model}"
    console.print(f"[dim]来源：{label}[/]")
    console.print(f"[bold]SQL：[/]{answer.sql}", highlight=False)
    table = Table(*answer.columns)
    for row in answer.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if answer.truncated:
        console.print(f"结果超过 {max_rows} 行，只显示前 {max_rows} 行", style="yellow")


template_app = typer.Typer(help="问数模板：问题 → SQL，审核后离线复用", no_args_is_help=True)
app.add_typer(template_app, name="template")


@template_app.command("add")
def template_add_cmd(
    question: Annotated[str, typer.Argument(help="问题，可含槽位，如 {区}的留言有多少")],
    sql: Annotated[str, typer.Argument(help="SQL，槽位写作 :区")],
) -> None:
    """提交问数模板（在控制台或接口审核通过后才用于回答）"""
    with database().session() as session:
        row = service.add_template(session, question, sql, actor=cli_actor())
        console.print(f"[green]已提交模板[/] #{row.id}，待数据官审核后生效")


@template_app.command("list")
def template_list_cmd() -> None:
    """列出问数模板"""
    with database().session() as session:
        table = Table("#", "问题", "SQL", "状态", "审核人", "使用次数")
        for t in service.templates(session):
            table.add_row(
                str(t.id), t.question, t.sql, t.status, t.approved_by_name or "", str(t.uses)
            )
        console.print(table)
