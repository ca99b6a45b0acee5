"""Local accounts and API keys.

Passwords are hashed with Argon2id. API keys are random, shown once, and stored as a SHA-256 hash
(they carry 256 bits of entropy, so a slow hash adds nothing but latency on every request).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, InvalidInput, Unauthenticated
from shuzhi.platform.roles import SEPARATED_ROLES, Role
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import ApiKey, User, UserRole

API_KEY_PREFIX = "sz-"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (console or API key) or a system behind an API key."""

    name: str
    user_id: int | None = None
    api_key_id: int | None = None
    roles: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)

    def has_role(self, role: Role, department_id: int | None = None) -> bool:
        return (role, None) in self.roles or (
            department_id is not None and (role, department_id) in self.roles
        )

    @property
    def role_names(self) -> set[str]:
        return {role for role, _ in self.roles}

    def departments_for(self, roles: frozenset[str] | set[str]) -> set[int | None]:
        """Departments in which any of ``roles`` is held; ``None`` in the set means all."""
        return {dept for role, dept in self.roles if role in roles}

    def can(self, permission: str, department_id: int | None = None) -> bool:
        """True when a role granting ``permission`` applies (to ``department_id`` when given)."""
        from shuzhi.platform.permissions import roles_for

        depts = self.departments_for({r.value for r in roles_for(permission)})
        if None in depts:
            return True
        return bool(depts) and (department_id is None or department_id in depts)

    def visible_departments(self, permission: str) -> set[int] | None:
        """The departments whose records this principal may see; ``None`` means all of them."""
        from shuzhi.platform.permissions import roles_for

        depts = self.departments_for({r.value for r in roles_for(permission)})
        return None if None in depts else {d for d in depts if d is not None}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位", hint="请换一个更长的密码")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(
    session: Session,
    username: str,
    password: str | None,
    roles: list[tuple[Role, int | None]] = (),  # type: ignore[assignment]
    display_name: str = "",
) -> User:
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"用户名 {username} 已存在", hint="换一个用户名")
    check_role_separation({role for role, _ in roles})
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    for role, department_id in roles:
        session.add(UserRole(user_id=user.id, role=role.value, department_id=department_id))
    session.flush()
    return user


def check_role_separation(roles: set[Role] | set[str]) -> None:
    held = {Role(r) for r in roles} & SEPARATED_ROLES
    if len(held) > 1:
        names = "、".join(sorted(held))
        raise InvalidInput(
            f"系统管理员、安全保密管理员、安全审计员须由不同账号担任，不能同时授予：{names}",
            hint="等保 2.0 三员分立；请为每个管理角色建立单独账号",
        )


def principal_for_user(session: Session, user: User) -> Principal:
    rows = session.scalars(select(UserRole).where(UserRole.user_id == user.id)).all()
    return Principal(
        name=user.username,
        user_id=user.id,
        roles=frozenset((r.role, r.department_id) for r in rows),
    )


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session, name: str, user_id: int | None, department_id: int | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text, which is never stored or shown again."""
    plain = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=plain[:10],
        key_hash=_key_hash(plain),
        user_id=user_id,
        department_id=department_id,
    )
    session.add(key)
    session.flush()
    return key, plain


# How stale ``api_keys.last_used_at`` may be. Writing it on every request made each /v1 call
# commit (and on SQLite take the database's write lock), which cost more than the gateway itself.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _touch(key: ApiKey) -> None:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now


def authenticate_api_key(session: Session, plain: str) -> Principal:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _key_hash(plain)))
    if key is None or key.revoked_at is not None:
        raise Unauthenticated("API 密钥无效或已吊销", hint="在控制台“用户与密钥”页面重新申请")
    _touch(key)
    if key.user_id is None:
        # A system key acts with the business roles it was issued, inside its department.
        roles = frozenset((scope, key.department_id) for scope in key.scopes or [])
        return Principal(name=f"key:{key.name}", api_key_id=key.id, roles=roles)
    user = session.get(User, key.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("API 密钥所属账号已停用")
    base = principal_for_user(session, user)
    return Principal(name=base.name, user_id=user.id, api_key_id=key.id, roles=base.roles)
