"""``shuzhi users|departments|audit|reviews``: the platform from the operator's terminal.

Commands act as ``cli:<login name>`` in the audit log, since whoever holds the server's shell and
database settings already holds every power the console grants.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from shuzhi.cli import labels
from shuzhi.cli.common import cli_actor, console, database, printable, unwritable
from shuzhi.errors import InvalidInput, UserError
from shuzhi.platform import accounts, review
from shuzhi.platform.accounts import Actor
from shuzhi.platform.audit import MIN_RETENTION, AuditFilter, export_csv, prune, verify_chain
from shuzhi.platform.identity import Principal
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import Department

users_app = typer.Typer(help="用户、角色与 API 密钥", no_args_is_help=True)
departments_app = typer.Typer(help="部门（委办局）", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志：校验、导出、清理", no_args_is_help=True)
reviews_app = typer.Typer(help="人工复核队列", no_args_is_help=True)


Username = Annotated[str, typer.Argument(help="用户名")]
# Written out: rich would take "[@部门编码]" for markup and drop it from the help page.
RoleSpec = Annotated[str, typer.Argument(help="角色，如 viewer；限定部门时写 reviewer@部门编码")]


def _actor() -> Actor:
    return Actor(Principal(name=cli_actor()), "127.0.0.1")


# users ---------------------------------------------------------------------------------------


@users_app.command("list")
def users_list() -> None:
    """列出账号及其角色"""
    with database().session() as session:
        departments = {d.id: d for d in accounts.list_departments(session)}
        table = Table("id", "用户名", "姓名", "角色", "状态")
        for user in accounts.list_users(session):
            roles = "，".join(
                _role_label(r.role, departments.get(r.department_id) if r.department_id else None)
                for r in accounts.user_roles(session, user.id)
            )
            state = "启用" if user.is_active else "停用"
            table.add_row(str(user.id), user.username, user.display_name, roles, state)
    console.print(table)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="用户名", callback=printable("用户名"))],
    display_name: Annotated[
        str, typer.Option("--name", help="姓名", callback=printable("姓名"))
    ] = "",
    role: Annotated[
        list[str] | None, typer.Option(help="角色，可写 reviewer@部门编码；可重复")
    ] = None,
) -> None:
    """创建账号并显示一次性密码"""
    granted = []
    with database().session() as session:
        user, password = accounts.create_account(session, _actor(), username, display_name)
        for spec in role or []:
            name, dept = _role_spec(session, spec)
            accounts.grant_role(session, _actor(), user.id, name, _id(dept))
            granted.append(_role_label(name, dept))
    # Printed once to the operator's terminal, never logged.
    console.print(
        f"已创建 {username}，一次性密码：[bold]{password}[/]（首次登录须修改）", soft_wrap=True
    )
    if granted:
        console.print("角色：" + "，".join(granted), highlight=False)


def _role_spec(session: Session, spec: str) -> tuple[str, Department | None]:
    """``reviewer@jyj`` as the role and the department with that code; ``viewer`` alone."""
    role, _, code = spec.partition("@")
    return role, _department(session, code) if code else None


def _department(session: Session, code: str) -> Department:
    for dept in accounts.list_departments(session):
        if dept.code == code:
            return dept
    raise InvalidInput(f"部门编码 {code} 不存在", hint="用 `shuzhi departments list` 查看")


def _id(dept: Department | None) -> int | None:
    return dept.id if dept is not None else None


def _role_label(role: str, dept: Department | None) -> str:
    if dept is None:
        return labels.role(role)
    return labels.role(role, dept.code, dept.name)


@users_app.command("grant")
def users_grant(username: Username, role: RoleSpec) -> None:
    """授予角色（可限定在一个部门内）"""
    with database().session() as session:
        name, dept = _role_spec(session, role)
        accounts.grant_role(session, _actor(), username, name, _id(dept))
        granted = _role_label(name, dept)
    console.print(f"已授予 {username}：{granted}", highlight=False)


@users_app.command("revoke")
def users_revoke(username: Username, role: RoleSpec) -> None:
    """收回角色"""
    with database().session() as session:
        name, dept = _role_spec(session, role)
        accounts.revoke_role(session, _actor(), username, name, _id(dept))
        revoked = _role_label(name, dept)
    console.print(f"已收回 {username}：{revoked}", highlight=False)


@users_app.command("disable")
def users_disable(username: Username) -> None:
    """停用账号并结束其会话"""
    with database().session() as session:
        accounts.set_active(session, _actor(), username, False)
    console.print(f"已停用 {username}")


@users_app.command("enable")
def users_enable(username: Username) -> None:
    """启用账号"""
    with database().session() as session:
        accounts.set_active(session, _actor(), username, True)
    console.print(f"已启用 {username}")


@users_app.command("unlock")
def users_unlock(username: Username) -> None:
    """解除多次登录失败后的锁定"""
    with database().session() as session:
        accounts.unlock(session, _actor(), username)
    console.print(f"已解锁 {username}")


@users_app.command("reset-password")
def users_reset_password(username: Username) -> None:
    """为账号生成新的一次性密码"""
    with database().session() as session:
        password = accounts.reset_password(session, _actor(), username)
    console.print(f"{username} 的一次性密码：[bold]{password}[/]（首次登录须修改）", soft_wrap=True)


@users_app.command("key")
def users_key(
    name: Annotated[str, typer.Argument(help="密钥名称", callback=printable("密钥名称"))],
    user: Annotated[str | None, typer.Option(help="密钥归属的用户名（代表该用户）")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(help="系统密钥的业务角色，可写 operator@部门编码（同 users grant）；可重复"),
    ] = None,
    department: Annotated[str | None, typer.Option(help="系统密钥所属部门编码")] = None,
) -> None:
    """签发 API 密钥，只显示这一次"""
    with database().session() as session:
        user_id = accounts.get_user(session, user).id if user else None
        roles, dept = _key_roles(session, role or [], department)
        _, plain = accounts.issue_api_key(
            session, _actor(), name, user_id=user_id, department_id=_id(dept), roles=roles
        )
        shown = "，".join(_role_label(r, dept) for r in roles)
    console.print(f"API 密钥（仅显示一次）：[bold]{plain}[/]")
    if shown:
        console.print(f"角色：{shown}", highlight=False)


def _key_roles(
    session: Session, specs: list[str], department: str | None
) -> tuple[list[str], Department | None]:
    """A key belongs to one department: from ``--department``, or from ``role@部门编码``."""
    codes = {code for _, _, code in (s.partition("@") for s in specs) if code}
    if department:
        codes.add(department)
    if len(codes) > 1:
        raise InvalidInput(
            f"一个 API 密钥只能属于一个部门，却给了 {'、'.join(sorted(codes))}",
            hint="每个部门各建一个密钥",
        )
    dept = _department(session, codes.pop()) if codes else None
    return [s.partition("@")[0] for s in specs], dept


# departments ---------------------------------------------------------------------------------


@departments_app.command("list")
def departments_list() -> None:
    """列出部门"""
    with database().session() as session:
        table = Table("id", "编码", "名称")
        for dept in accounts.list_departments(session):
            table.add_row(str(dept.id), dept.code, dept.name)
    console.print(table)


@departments_app.command("create")
def departments_create(
    code: Annotated[str, typer.Argument(help="部门编码，如 jyj", callback=printable("部门编码"))],
    name: Annotated[str, typer.Argument(help="部门名称", callback=printable("部门名称"))],
) -> None:
    """创建部门（委办局）"""
    with database().session() as session:
        dept = accounts.create_department(session, _actor(), code, name)
        console.print(f"已创建部门 {dept.id} {dept.code} {dept.name}")


# audit ---------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """校验审计日志的哈希链；有记录被修改或删除时退出码为 1"""
    with database().session() as session:
        report = verify_chain(session)
    if report.ok:
        console.print(f"[green]审计日志链完整[/]，已校验 {report.checked} 条记录")
        return
    console.print(
        f"[bold red]审计日志链在记录 {report.broken_at} 处断开：{report.reason}[/]"
        f"（此前 {report.checked} 条完好）"
    )
    sys.exit(1)


@audit_app.command("export")
def audit_export(
    output: Annotated[
        Path | None, typer.Option("-o", help="输出 CSV 文件；缺省写到标准输出")
    ] = None,
    days: Annotated[int | None, typer.Option(help="只导出最近若干天")] = None,
    action: Annotated[str | None, typer.Option(help="事件前缀，如 auth.")] = None,
) -> None:
    """把审计记录导出为 CSV（导出本身也记入审计日志）"""
    since = utcnow() - timedelta(days=days) if days else None
    flt = AuditFilter(since=since, action=action)
    with database().session() as session:
        if output is None:
            export_csv(session, sys.stdout, flt, actor=_actor().name)
            return
        try:
            out = output.open("w", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise unwritable(output, exc) from exc
        with out:
            count = export_csv(session, out, flt, actor=_actor().name)
    console.print(f"已导出 {count} 条记录到 {output}")


@audit_app.command("prune")
def audit_prune(
    older_than_days: Annotated[
        int, typer.Option(help=f"删除早于若干天的记录（不少于 {MIN_RETENTION.days}）")
    ] = 365,
    yes: Annotated[bool, typer.Option("--yes", help="不再确认")] = False,
) -> None:
    """删除过期的审计记录，并留下锚点使其余记录的链仍可校验"""
    before = utcnow() - timedelta(days=older_than_days)
    if not yes and not _confirmed(f"删除 {before.date()} 之前的审计记录？"):
        raise UserError("已取消，未删除任何审计记录；不经确认直接删除请加 --yes")
    with database().session() as session:
        result = prune(session, before, actor=_actor().name)
    console.print(f"已清理 {result.pruned} 条记录；日志链仍可校验")


def _confirmed(question: str) -> bool:
    try:
        return typer.confirm(question)
    except typer.Abort:  # no terminal to answer (stdin closed) or Ctrl-C
        return False


# reviews -------------------------------------------------------------------------------------


@reviews_app.callback()
def reviews_group() -> None:
    """人工复核队列。"""
    # A callback keeps `reviews` a group: typer turns a group of one command into that command,
    # and a bare `shuzhi reviews` (meant to show the help) escalated the whole queue.


@reviews_app.command("status")
def reviews_status() -> None:
    """显示待复核任务数及其中超期的数量"""
    with database().session() as session:
        pending, overdue = review.backlog(session)
    console.print(f"待复核 {pending}，其中超期 {overdue}")


@reviews_app.command("escalate")
def reviews_escalate() -> None:
    """升级超期的复核任务（可由 cron 或定时任务运行）"""
    with database().session() as session:
        tasks = review.escalate_overdue(session)
        pending, overdue = review.backlog(session)
    console.print(f"已升级 {len(tasks)} 个超期任务；待复核 {pending}，其中超期 {overdue}")
