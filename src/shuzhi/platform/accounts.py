"""Managing departments, accounts, roles and API keys. Every change is audited here.

Duties follow the three administrators of 等保 2.0: the system admin creates departments,
accounts and keys; the security admin alone grants and revokes roles; nobody changes their own
roles; and no account ever holds two of the three administrator roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import (
    Principal,
    check_role_separation,
    create_api_key,
    create_user,
    generate_password,
    hash_password,
    verify_password,
)
from shuzhi.platform.roles import ROLE_LABELS_ZH, SEPARATED_ROLES, Role
from shuzhi.platform.sessions import revoke_all_sessions
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import ApiKey, Department, User, UserRole
from shuzhi.validation import check_name


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where, for the audit record."""

    principal: Principal
    source_ip: str | None = None

    @property
    def name(self) -> str:
        return self.principal.name


def _audit(session: Session, actor: Actor, action: str, target: str, **detail: Any) -> None:
    audit(session, action, actor=actor.name, target=target, source_ip=actor.source_ip, **detail)


# departments ---------------------------------------------------------------------------------


def create_department(
    session: Session, actor: Actor, code: str, name: str, parent_id: int | None = None
) -> Department:
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise InvalidInput("部门编码和名称都不能为空")
    check_name(code, "部门编码")
    check_name(name, "部门名称")
    if session.scalar(select(Department).where(Department.code == code)):
        raise Conflict(f"部门编码 {code} 已存在", hint="换一个编码")
    if parent_id is not None and session.get(Department, parent_id) is None:
        raise NotFound(f"上级部门 {parent_id} 不存在")
    dept = Department(code=code, name=name, parent_id=parent_id)
    session.add(dept)
    session.flush()
    _audit(session, actor, "department.create", f"department:{dept.id}", code=code, name=name)
    return dept


def list_departments(session: Session, visible: set[int] | None = None) -> list[Department]:
    query = select(Department).order_by(Department.id)
    if visible is not None:
        query = query.where(Department.id.in_(visible))
    return list(session.scalars(query))


def get_department(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound(f"部门 {department_id} 不存在", hint="用 `shuzhi departments list` 查看")
    return dept


# accounts ------------------------------------------------------------------------------------


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def get_user(session: Session, user_id: int | str) -> User:
    if isinstance(user_id, str) and not user_id.isdigit():
        found = session.scalar(select(User).where(User.username == user_id))
    else:
        found = session.get(User, int(user_id))
    if found is None:
        raise NotFound(f"用户 {user_id} 不存在", hint="用 `shuzhi users list` 查看")
    return found


def create_account(
    session: Session, actor: Actor, username: str, display_name: str = "", password: str = ""
) -> tuple[User, str]:
    """Create an account without roles; return it with its one-time password."""
    username = username.strip()
    if not username or len(username) > 128 or any(c.isspace() for c in username):
        raise InvalidInput(f"用户名不合法：{username!r}", hint="1 到 128 个字符，不含空格")
    check_name(username, "用户名")
    check_name(display_name, "显示名")
    password = password or generate_password()
    user = create_user(session, username, password, [], display_name)
    user.must_change_password = True
    _audit(session, actor, "user.create", f"user:{username}")
    return user, password


def user_roles(session: Session, user_id: int) -> list[UserRole]:
    return list(session.scalars(select(UserRole).where(UserRole.user_id == user_id)))


def grant_role(
    session: Session, actor: Actor, user_id: int | str, role: Role | str, department_id: int | None
) -> UserRole:
    user = get_user(session, user_id)
    role = _parse_role(role)
    _check_not_self(actor, user)
    if department_id is not None:
        get_department(session, department_id)
        if role in SEPARATED_ROLES:
            raise InvalidInput("三员角色不按部门授予", hint="授予时不要指定部门")
    held = {Role(r.role) for r in user_roles(session, user.id)}
    check_role_separation(held | {role})
    if _find_role(session, user.id, role, department_id) is not None:
        raise Conflict(f"{user.username} 已有该角色")
    row = UserRole(user_id=user.id, role=role.value, department_id=department_id)
    session.add(row)
    session.flush()
    _audit(
        session,
        actor,
        "role.grant",
        f"user:{user.username}",
        role=role.value,
        department_id=department_id,
    )
    return row


def revoke_role(
    session: Session, actor: Actor, user_id: int | str, role: Role | str, department_id: int | None
) -> None:
    user = get_user(session, user_id)
    role = _parse_role(role)
    _check_not_self(actor, user)
    row = _find_role(session, user.id, role, department_id)
    if row is None:
        raise NotFound(f"{user.username} 没有该角色")
    session.delete(row)
    session.flush()
    _audit(
        session,
        actor,
        "role.revoke",
        f"user:{user.username}",
        role=role.value,
        department_id=department_id,
    )


def _find_role(
    session: Session, user_id: int, role: Role, department_id: int | None
) -> UserRole | None:
    query = select(UserRole).where(UserRole.user_id == user_id, UserRole.role == role.value)
    if department_id is None:
        query = query.where(UserRole.department_id.is_(None))
    else:
        query = query.where(UserRole.department_id == department_id)
    return session.scalar(query)


def _parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        names = "、".join(f"{ROLE_LABELS_ZH[r]}（{r.value}）" for r in Role)
        raise InvalidInput(f"未知角色：{role}", hint=f"可选：{names}") from None


def _check_not_self(actor: Actor, user: User) -> None:
    if actor.principal.user_id == user.id:
        raise PermissionDenied("不能修改自己的角色", hint="请另一位安全保密管理员操作")


def set_active(session: Session, actor: Actor, user_id: int | str, active: bool) -> User:
    user = get_user(session, user_id)
    if actor.principal.user_id == user.id and not active:
        raise PermissionDenied("不能停用自己的账号")
    user.is_active = active
    if not active:
        revoke_all_sessions(session, user.id)
    _audit(session, actor, "user.enable" if active else "user.disable", f"user:{user.username}")
    return user


def unlock(session: Session, actor: Actor, user_id: int | str) -> User:
    user = get_user(session, user_id)
    user.locked_until = None
    user.failed_logins = 0
    _audit(session, actor, "user.unlock", f"user:{user.username}")
    return user


def reset_password(session: Session, actor: Actor, user_id: int | str) -> str:
    """Give the account a new one-time password it must change at next sign-in."""
    user = get_user(session, user_id)
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    revoke_all_sessions(session, user.id)
    _audit(session, actor, "user.reset_password", f"user:{user.username}")
    return password


def change_own_password(
    session: Session, user: User, old: str, new: str, source_ip: str | None = None
) -> None:
    if not verify_password(user.password_hash, old):
        raise InvalidInput("原密码不正确")
    if old == new:
        raise InvalidInput("新密码不能与原密码相同")
    if not (any(c.isalpha() for c in new) and any(c.isdigit() for c in new)):
        raise InvalidInput("新密码须同时包含字母和数字", hint="至少 8 位")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit(
        session,
        "user.change_password",
        actor=user.username,
        target=f"user:{user.username}",
        source_ip=source_ip,
    )


# API keys ------------------------------------------------------------------------------------

_KEY_ROLES = {Role.OPERATOR, Role.VIEWER, Role.REVIEWER}


def issue_api_key(
    session: Session,
    actor: Actor,
    name: str,
    *,
    user_id: int | None = None,
    department_id: int | None = None,
    roles: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """A key for a person (acting with their roles) or for a system (acting with ``roles``
    inside ``department_id``). Administrator roles are never given to a system key."""
    if not name.strip():
        raise InvalidInput("密钥名称不能为空")
    check_name(name, "密钥名称")
    if user_id is not None:
        get_user(session, user_id)
    if department_id is not None:
        get_department(session, department_id)
    scopes = sorted({_parse_role(r).value for r in roles or []})
    if user_id is None and not set(scopes) <= {r.value for r in _KEY_ROLES}:
        raise InvalidInput("系统密钥只能带业务角色：operator、reviewer、viewer")
    key, plain = create_api_key(session, name.strip(), user_id, department_id)
    key.scopes = scopes
    _audit(session, actor, "apikey.create", f"apikey:{key.id}", name=key.name, scopes=scopes)
    return key, plain


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API 密钥 {key_id} 不存在")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _audit(session, actor, "apikey.revoke", f"apikey:{key.id}", name=key.name)
    return key
