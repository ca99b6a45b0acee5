"""Small builders for platform tests: departments, users with roles, principals."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shuzhi.platform.identity import Principal, create_user, principal_for_user
from shuzhi.platform.roles import Role
from shuzhi.storage.models import Department, User

PASSWORD = "correct-horse-9"


def department(session: Session, code: str, name: str | None = None) -> Department:
    dept = Department(code=code, name=name or code)
    session.add(dept)
    session.flush()
    return dept


def user(
    session: Session, username: str, *roles: tuple[Role, int | None], password: str = PASSWORD
) -> User:
    return create_user(session, username, password, list(roles), username)


def principal(session: Session, username: str, *roles: tuple[Role, int | None]) -> Principal:
    return principal_for_user(session, user(session, username, *roles))


def as_database_owner(session: Session) -> None:
    """Lift the audit log's append-only trigger, as someone with the owner's rights could."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS audit_log_append_only"))
