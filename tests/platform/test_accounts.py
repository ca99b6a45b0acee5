from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shuzhi.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated
from shuzhi.platform import accounts, sessions
from shuzhi.platform.accounts import Actor
from shuzhi.platform.identity import authenticate_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditRecord, User
from tests.platform.helpers import PASSWORD, department, principal, user


def test_lockout_after_five_failures_and_audit(db: Database) -> None:
    with db.session() as session:
        user(session, "clerk", (Role.OPERATOR, None))
    for _ in range(5):
        with db.session() as session:
            outcome = sessions.login(session, "clerk", "wrong-pass-1", "10.0.0.9")
            assert outcome.user is None
    with db.session() as session:
        locked = sessions.login(session, "clerk", PASSWORD, "10.0.0.9")
        assert locked.user is None and "锁定" in locked.message
        clerk = session.scalar(select(User).where(User.username == "clerk"))
        assert clerk is not None
        clerk.locked_until = utcnow() - timedelta(seconds=1)
    with db.session() as session:
        assert sessions.login(session, "clerk", PASSWORD, "10.0.0.9").user is not None
        logins = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "auth.login")
        ).all()
        assert [r.outcome for r in logins] == ["failure"] * 6 + ["success"]
        assert {r.source_ip for r in logins} == {"10.0.0.9"}
        assert session.scalar(select(AuditRecord).where(AuditRecord.action == "user.lock"))


def test_unknown_user_gets_the_same_message(db: Database) -> None:
    with db.session() as session:
        user(session, "clerk")
        unknown = sessions.login(session, "nobody", "x", None)
        wrong = sessions.login(session, "clerk", "x", None)
    assert unknown.message == sessions.BAD_CREDENTIALS
    assert wrong.message == unknown.message  # no hint which user names exist


def test_session_lifecycle(db: Database) -> None:
    with db.session() as session:
        clerk = user(session, "clerk", (Role.VIEWER, None))
        row, token = sessions.start_session(session, clerk, "1.2.3.4")
        assert row.token_hash != token
        active = sessions.resolve_session(session, token)
        assert active is not None and active.principal.name == "clerk"
        row.last_seen_at = utcnow() - sessions.IDLE_TIMEOUT - timedelta(minutes=1)
        assert sessions.resolve_session(session, token) is None
        _, token2 = sessions.start_session(session, clerk, None)
        sessions.end_session(session, token2)
        assert sessions.resolve_session(session, token2) is None
        assert sessions.resolve_session(session, "forged") is None


def test_role_grants_follow_separation_of_duties(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "hr")
        sec = Actor(principal(session, "sec", (Role.SECURITY_ADMIN, None)))
        target, _ = accounts.create_account(session, sec, "alice")
        accounts.grant_role(session, sec, target.id, Role.SYSTEM_ADMIN, None)
        with pytest.raises(InvalidInput, match="不同账号"):
            accounts.grant_role(session, sec, target.id, Role.AUDIT_ADMIN, None)
        with pytest.raises(PermissionDenied):
            accounts.grant_role(session, sec, "sec", Role.VIEWER, None)
        accounts.grant_role(session, sec, "alice", "reviewer", dept.id)
        with pytest.raises(Conflict):
            accounts.grant_role(session, sec, "alice", "reviewer", dept.id)
        with pytest.raises(InvalidInput, match="未知角色"):
            accounts.grant_role(session, sec, "alice", "god", None)
        accounts.revoke_role(session, sec, "alice", "reviewer", dept.id)
        actions = session.scalars(select(AuditRecord.action)).all()
        assert actions.count("role.grant") == 2 and "role.revoke" in actions


def test_system_api_key_carries_only_business_roles(db: Database) -> None:
    with db.session() as session:
        dept = department(session, "cg")
        admin = Actor(principal(session, "root", (Role.SYSTEM_ADMIN, None)))
        with pytest.raises(InvalidInput):
            accounts.issue_api_key(session, admin, "etl", roles=["system_admin"])
        key, plain = accounts.issue_api_key(
            session, admin, "etl", department_id=dept.id, roles=["operator"]
        )
        who = authenticate_api_key(session, plain)
        assert who.can("workorder.write", dept.id) and not who.can("workorder.write", dept.id + 9)
        accounts.revoke_api_key(session, admin, key.id)
        with pytest.raises(Unauthenticated):
            authenticate_api_key(session, plain)


def test_password_change_and_reset(db: Database) -> None:
    with db.session() as session:
        admin = Actor(principal(session, "root", (Role.SYSTEM_ADMIN, None)))
        clerk, first = accounts.create_account(session, admin, "clerk")
        assert clerk.must_change_password
        with pytest.raises(InvalidInput):
            accounts.change_own_password(session, clerk, first, "onlyletters")
        accounts.change_own_password(session, clerk, first, "new-pass-2026")
        assert not clerk.must_change_password
        fresh = accounts.reset_password(session, admin, "clerk")
        assert sessions.login(session, "clerk", fresh, None).user is not None


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda s, a: accounts.create_department(s, a, "D\x00", "民政局"), "部门编码"),
        (lambda s, a: accounts.create_department(s, a, "MZ", "民政\x07局"), "部门名称"),
        (lambda s, a: accounts.create_account(s, a, "li\x00si"), "用户名"),
        (lambda s, a: accounts.create_account(s, a, "lisi", "李\x1b四"), "显示名"),
        (lambda s, a: accounts.issue_api_key(s, a, "key\x00", roles=["operator"]), "密钥名称"),
    ],
)
def test_names_with_control_characters_are_refused_whatever_the_surface(
    db: Database, make: object, field: str
) -> None:
    """The console's forms and every other caller go through these functions: a control
    character is refused here, naming the field, and nothing is stored (SQLite would keep a
    NUL silently; PostgreSQL refuses it with an error a clerk cannot read)."""
    with db.session() as session:
        admin = Actor(principal(session, "root", (Role.SYSTEM_ADMIN, None)))
    with db.session() as session, pytest.raises(InvalidInput, match=f"^{field}不能含控制字符"):
        make(session, admin)  # type: ignore[operator]
    with db.session() as session:
        assert session.scalar(select(User).where(User.username.like("li%"))) is None
