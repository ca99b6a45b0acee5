"""``shuzhi employees``: list, show, define (apply), move through the lifecycle, and chat."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from shuzhi.cli.common import cli_actor, console, database, settings
from shuzhi.employees import EmployeeRuntime, Turn, load_definition_file, service
from shuzhi.employees.runtime import StreamReset
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, Employee, EmployeeVersion

app = typer.Typer(help="数智员工：定义、上岗、对话", no_args_is_help=True)

QUIT = {"exit", "quit", "退出", "再见"}


def _departments(db: Database) -> dict[int, Department]:
    with db.session() as session:
        return {d.id: d for d in session.scalars(select(Department))}


def _row(employee: Employee, departments: dict[int, Department]) -> dict[str, Any]:
    dept = departments.get(employee.department_id) if employee.department_id else None
    return {
        "id": employee.slug,
        "name": employee.name,
        "department": dept.name if dept else None,
        "department_code": dept.code if dept else None,
        "status": employee.status,
        "status_label": service.STATE_LABELS.get(employee.status, employee.status),
        "version": employee.current_version,
    }


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """列出数智员工：编号、名称、部门、状态、版本"""
    db = database()
    with db.session() as session:
        employees = service.list_employees(session)
    departments = _departments(db)
    rows = [_row(e, departments) for e in employees]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("编号", "名称", "部门", "状态", "版本")
    for r in rows:
        table.add_row(
            r["id"], r["name"], r["department"] or "—", r["status_label"], str(r["version"])
        )
    console.print(table)
    console.print(f"共 {len(rows)} 个数智员工；在岗的可在 /v1 以模型名 employee:<编号> 调用")


@app.command("show")
def show_cmd(
    employee_id: Annotated[str, typer.Argument(help="员工编号")],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出定义与版本")] = False,
) -> None:
    """查看一名员工：定义、状态、版本、技能、知识库、场景"""
    db = database()
    with db.session() as session:
        loaded = service.load(session, employee_id)
        versions = list(
            session.scalars(
                select(EmployeeVersion)
                .where(EmployeeVersion.employee_id == loaded.row.id)
                .order_by(EmployeeVersion.version)
            )
        )
    summary = _row(loaded.row, _departments(db))
    d = loaded.definition
    if as_json:
        history = [
            {"version": v.version, "created_by": v.created_by, "created_at": v.created_at}
            for v in versions
        ]
        data = {**summary, "definition": d.model_dump(mode="json"), "versions": history}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"[bold]{d.name}[/]（{d.id}）第 {summary['version']} 版", highlight=False)
    console.print(
        f"部门：{summary['department']}  状态：{summary['status_label']}", highlight=False
    )
    console.print(
        f"对象：{'群众' if d.audience == 'citizen' else '工作人员'}  模型：{d.model or '默认'}"
    )
    console.print(f"职责：{d.role}", highlight=False)
    if d.greeting:
        console.print(f"问候语：{d.greeting}", highlight=False)
    console.print("技能：" + ("、".join(d.skills) or "无"), highlight=False)
    console.print("知识库：" + ("、".join(d.knowledge_bases) or "无"), highlight=False)
    console.print("场景：" + ("、".join(d.scenarios) or "无"), highlight=False)
    if d.answer_scenario:
        console.print(f"答复场景：{d.answer_scenario}", highlight=False)
    nxt = "、".join(service.STATE_LABELS[s] for s in sorted(service.TRANSITIONS[loaded.row.status]))
    console.print(f"可转入状态：{nxt or '无（已退役）'}")
    console.print("版本：" + "；".join(f"v{v.version} {v.created_by}" for v in versions))


@app.command("apply")
def apply_cmd(
    path: Annotated[Path, typer.Argument(help="员工定义 YAML 文件")],
) -> None:
    """按 YAML 定义文件创建员工；定义有变化时新增一个版本"""
    try:
        definition = load_definition_file(path)
        with database().session() as session:
            before = session.scalar(select(Employee).where(Employee.slug == definition.id))
            old_version = before.current_version if before is not None else None
            row = service.apply_definition(session, definition, cli_actor())
            version, status = row.current_version, row.status
    except InvalidInput as exc:
        # One line: the file, line and field of each problem, side by side.
        flat = exc.message.replace("：\n", "：").replace("\n", "；")
        raise InvalidInput(flat, hint=exc.hint) from exc
    if old_version is None:
        console.print(f"[green]已新建数智员工[/] {definition.id}（第 {version} 版，草稿）")
    elif old_version == version:
        console.print(f"定义未变化：{definition.id} 仍为第 {version} 版")
    else:
        label = service.STATE_LABELS.get(status, status)
        console.print(f"[green]已更新[/] {definition.id} 为第 {version} 版（状态：{label}）")


def _state(value: str) -> str:
    by_label = {label: state for state, label in service.STATE_LABELS.items()}
    return by_label.get(value, value)


@app.command("transition")
def transition_cmd(
    employee_id: Annotated[str, typer.Argument(help="员工编号")],
    state: Annotated[
        str,
        typer.Argument(
            help="目标状态：trial（试用）/ on_duty（在岗）/ suspended（停岗）/ retired（退役）"
            " / draft（草稿），也可写中文"
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="原因，写入审计日志")],
) -> None:
    """变更员工的状态；转为在岗前须通过评测关口"""
    if not reason.strip():
        raise InvalidInput("请用 --reason 说明变更原因", hint="原因会写入审计日志")
    with database().session() as session:
        try:
            row = service.transition(session, employee_id, _state(state), cli_actor(), reason)
        except Conflict:
            session.commit()  # keep the audit record of a refused transition
            raise
        label = service.STATE_LABELS[row.status]
    console.print(f"[green]{employee_id}[/] 已变为“{label}”")


@app.command("mcp")
def mcp_cmd(
    employee_id: Annotated[str, typer.Argument(help="员工编号")],
    transport: Annotated[
        str, typer.Option("--transport", help="stdio（由 MCP 客户端启动）或 streamable-http")
    ] = "stdio",
    host: Annotated[
        str, typer.Option("--host", help="监听地址（streamable-http 时）")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口（streamable-http 时）")] = 8765,
) -> None:
    """把员工获准使用的技能作为 MCP 服务提供（stdio，或 HTTP 地址 /mcp）"""
    from shuzhi.employees.mcp import serve_employee_mcp

    serve_employee_mcp(employee_id, settings(), transport, host=host, port=port)


@app.command("chat")
def chat_cmd(
    employee_id: Annotated[str, typer.Argument(help="员工编号")],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="只发一句话；不给则逐行读取标准输入")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="每轮以 JSON 输出")] = False,
) -> None:
    """与在岗的员工对话：有模型服务时由模型回答，没有时离线回答"""
    from shuzhi.gateway import Gateway
    from shuzhi.knowledge import KnowledgeService

    config = settings()
    db = database(config)
    gateway = Gateway(db, config)
    runtime = EmployeeRuntime(db, config, gateway=gateway, knowledge=KnowledgeService(db, config))
    try:
        asyncio.run(_chat(runtime, employee_id, message, as_json))
    finally:
        gateway.close()


async def _chat(runtime: EmployeeRuntime, slug: str, message: str | None, as_json: bool) -> None:
    conversation = runtime.start(slug, channel="cli")
    greeting = next((m.content for m in runtime.history(conversation)), "")
    if message is not None:
        await _turn(runtime, conversation, message, as_json)
    else:
        if not as_json:
            console.print(f"[dim]对话 {conversation}；输入“退出”或 Ctrl-D 结束[/]")
            if greeting:
                console.print(greeting, highlight=False)
        while (line := _read_line()) is not None:
            text = line.strip()
            if text in QUIT:
                break
            if text:
                await _turn(runtime, conversation, text, as_json)
    assert runtime.gateway is not None
    await runtime.gateway.aclose()


def _read_line() -> str | None:
    if sys.stdin.isatty():
        console.print("[bold]您：[/]", end="")
    line = sys.stdin.readline()
    return line or None


async def _turn(runtime: EmployeeRuntime, conversation: str, text: str, as_json: bool) -> None:
    shown, turn = "", None
    async for event in runtime.stream(conversation, text):
        if isinstance(event, Turn):
            turn = event
        elif as_json:
            continue
        elif isinstance(event, StreamReset):
            shown = ""
            console.print("\n[yellow]（以上回答中断，以下重新作答）[/]")
        else:
            shown += event
            console.print(event, end="", highlight=False)
    assert turn is not None
    if as_json:
        typer.echo(json.dumps(turn.as_dict(), ensure_ascii=False))
        return
    rest = turn.content[len(shown) :] if turn.content.startswith(shown) else "\n" + turn.content
    console.print(rest, highlight=False)
    _footer(turn)


def _footer(turn: Turn) -> None:
    mode = {"model": "大模型", "offline": "离线", "human": "人工"}.get(turn.mode.value, turn.mode)
    parts = [f"方式：{'系统提示' if turn.author == 'system' else mode}"]
    if turn.model:
        parts.append(f"模型：{turn.model}")
    if turn.sources:
        cited = [str(s.get("citation") or s.get("title") or s) for s in turn.sources]
        parts.append("依据：" + "；".join(cited))
    if turn.review_task_id:
        parts.append(f"复核任务：#{turn.review_task_id}")
    if turn.routed_to:
        parts.append(f"转至：{turn.routed_to.get('name')}")
    console.print("[dim]" + " | ".join(parts) + "[/]", highlight=False)
