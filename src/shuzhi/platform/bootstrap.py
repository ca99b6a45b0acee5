"""First start on an empty database: the bureau department and one system administrator."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.platform.audit import audit
from shuzhi.platform.identity import create_user, generate_password
from shuzhi.platform.roles import Role
from shuzhi.storage.models import Department, User

BUREAU_CODE = "bureau"


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str


def ensure_bureau(session: Session) -> Department:
    bureau = session.scalar(select(Department).where(Department.code == BUREAU_CODE))
    if bureau is None:
        bureau = Department(code=BUREAU_CODE, name="大数据局")
        session.add(bureau)
        session.flush()
    return bureau


def bootstrap(session: Session) -> FirstAdmin | None:
    """Create the first administrator when there is no user yet; return its one-time password."""
    ensure_bureau(session)
    if session.scalar(select(func.count()).select_from(User)):
        return None
    password = generate_password()
    admin = create_user(session, "admin", password, [(Role.SYSTEM_ADMIN, None)], "系统管理员")
    admin.must_change_password = True
    audit(session, "user.bootstrap", actor="system", actor_kind="system", target="admin")
    return FirstAdmin("admin", password)
