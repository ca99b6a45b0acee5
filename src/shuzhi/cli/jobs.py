"""``shuzhi jobs``: list, show, cancel, retry and run jobs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shuzhi import jobs
from shuzhi.cli import labels
from shuzhi.cli.common import cli_actor, console, database, settings, setup_logging
from shuzhi.cn.clock import ZONE_ZH, local_time
from shuzhi.errors import InvalidInput, json_error_zh
from shuzhi.jobs.scheduler import list_schedules, update_schedule
from shuzhi.storage.models import Job

app = typer.Typer(help="后台任务：查看、取消、重试、运行", no_args_is_help=True)


JobId = Annotated[int, typer.Argument(help="任务编号，见 shuzhi jobs list")]


def _status(job: Job) -> str:
    return jobs.STATUS_ZH.get(job.status, job.status)


def _kind(name: str) -> str:
    """A job kind by its title (the console's word too), with the name `jobs run` and `--kind`
    take."""
    titles = {kind.name: kind.label() for kind in jobs.all_kinds()}
    return labels.with_code(titles.get(name, name), name)


def _progress(job: Job) -> str:
    return (
        f"{job.progress_done}/{job.progress_total}"
        if job.progress_total
        else str(job.progress_done)
    )


@app.command("list")
def list_cmd(
    status: Annotated[
        str | None,
        typer.Option(
            help="状态：queued（排队中）/ running（运行中）/ succeeded（已完成）/ failed（失败）"
            " / cancelled（已取消）"
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="任务类型")] = None,
    limit: Annotated[int, typer.Option(help="最多显示条数")] = 30,
) -> None:
    """列出任务，最新的在前"""
    rows = jobs.list_jobs(database(), status=status, kind=kind, limit=limit)
    table = Table("编号", "类型", "状态", "进度", "尝试", "提交人", f"创建时间（{ZONE_ZH}）")
    for job in rows:
        table.add_row(
            str(job.id),
            _kind(job.kind),
            _status(job),
            _progress(job),
            f"{job.attempts}/{job.max_attempts}",
            job.created_by or "",
            local_time(job.created_at, with_seconds=True),
        )
    console.print(table)


@app.command("show")
def show_cmd(job_id: JobId) -> None:
    """查看一个任务：状态、进度、结果或错误"""
    job = jobs.get(database(), job_id)
    console.print(f"任务 {job.id}  {_kind(job.kind)}  [bold]{_status(job)}[/]")
    console.print(f"进度：{_progress(job)}    尝试：{job.attempts}/{job.max_attempts}")
    console.print(f"参数：{json.dumps(job.params, ensure_ascii=False)}", highlight=False)
    if job.locked_by:
        console.print(f"执行者：{job.locked_by}（租约至 {job.lease_until:%H:%M:%S}）")
    if job.result is not None:
        console.print(f"结果：{json.dumps(job.result, ensure_ascii=False)}", highlight=False)
    if job.error:
        console.print(f"[red]错误：[/]{job.error}", highlight=False)


@app.command("cancel")
def cancel_cmd(job_id: JobId) -> None:
    """取消任务（运行中的任务在处理下一项之前停止）"""
    job = jobs.cancel(database(), job_id)
    console.print(f"任务 {job.id}：{_status(job) if job.status == 'cancelled' else '已请求取消'}")


@app.command("retry")
def retry_cmd(job_id: JobId) -> None:
    """重新排队失败或已取消的任务；已完成的条目保留并跳过"""
    job = jobs.retry(database(), job_id)
    console.print(f"任务 {job.id} 已重新排队（已完成 {job.progress_done} 项将跳过）")


@app.command("kinds")
def kinds_cmd() -> None:
    """列出本安装可运行的任务类型"""
    table = Table("类型", "说明", "最多尝试", "提交权限")
    for kind in jobs.all_kinds():
        table.add_row(kind.name, kind.label(), str(kind.max_attempts), kind.permission or "仅系统")
    console.print(table)


@app.command("schedules")
def schedules_cmd() -> None:
    """列出定时任务（由运行中的工作进程按代码中的声明创建）"""
    table = Table("名称", "类型", "间隔（秒）", f"下次运行（{ZONE_ZH}）", "启用", "最近任务")
    for row in list_schedules(database()):
        table.add_row(
            row.name,
            _kind(row.kind),
            str(row.interval_seconds),
            local_time(row.next_run_at, with_seconds=True),
            "是" if row.enabled else "否",
            str(row.last_job_id or ""),
        )
    console.print(table)


@app.command("schedule")
def schedule_cmd(
    name: Annotated[str, typer.Argument(help="定时任务名称，见 shuzhi jobs schedules")],
    every: Annotated[int | None, typer.Option(help="新的间隔，单位秒")] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="启用或停用")] = None,
) -> None:
    """修改定时任务的间隔，或启用、停用"""
    row = update_schedule(database(), name, every_seconds=every, enabled=enable)
    state = "启用" if row.enabled else "停用"
    console.print(f"定时任务 {row.name}：每 {row.interval_seconds} 秒，{state}")


def _parse_params(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"--params 不是合法的 JSON：{json_error_zh(exc)}",
            hint="例如 --params '{\"items\": 10}'",
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput("--params 必须是 JSON 对象", hint="例如 --params '{\"items\": 10}'")
    return value


@app.command("run")
def run_cmd(
    kind: Annotated[str, typer.Argument(help="任务类型，见 shuzhi jobs kinds")],
    params: Annotated[str, typer.Option(help="JSON 对象形式的任务参数")] = "{}",
) -> None:
    """在本机立即运行一个任务并显示进度（与其他任务一样记录）"""
    cfg = settings()
    setup_logging("WARNING")
    db = database(cfg)
    parsed = _parse_params(params)
    columns = (TextColumn(kind), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(kind, total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        job = jobs.run_inline(
            db, kind, parsed, settings=cfg, created_by=cli_actor(), on_progress=report
        )
    show_cmd(job.id)
    if job.status != "succeeded":
        raise typer.Exit(1)
