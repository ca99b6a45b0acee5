"""Console sign-in: password checks with lock-out, and server-side login sessions.

GB/T 22239-2019 8.1.4.1 b) asks for handling of failed logins (limit attempts, lock, time out a
session). After ``MAX_FAILED_LOGINS`` wrong passwords in a row the account is locked for
``LOCKOUT``; a session expires after ``IDLE_TIMEOUT`` without use and after ``MAX_AGE`` in all.
Every sign-in, failure, lock and sign-out is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.platform.audit import audit
from shuzhi.platform.identity import Principal, principal_for_user, verify_password
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import LoginSession, User

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)

# One message for "no such user" and "wrong password", so sign-in does not reveal usernames.
BAD_CREDENTIALS = f"用户名或密码错误（连续 {MAX_FAILED_LOGINS} 次错误将锁定账号 15 分钟）"


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a password check. ``user`` is None on failure, with ``message`` saying why.

    Failures are returned, not raised, so the caller can commit the failure count and the audit
    record before answering.
    """

    user: User | None
    message: str = ""


def login(session: Session, username: str, password: str, source_ip: str | None) -> LoginOutcome:
    """Check a password, counting failures and locking the account after too many."""
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or not user.is_active:
        _audit_login(session, username, "failure", source_ip, reason="unknown_or_disabled")
        return LoginOutcome(None, BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        _audit_login(session, username, "failure", source_ip, reason="locked")
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginOutcome(None, f"账号已锁定，请 {minutes} 分钟后再试或联系系统管理员解锁")
    if not verify_password(user.password_hash, password):
        return _failed(session, user, source_ip)

    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    _audit_login(session, username, "success", source_ip)
    return LoginOutcome(user)


def _failed(session: Session, user: User, source_ip: str | None) -> LoginOutcome:
    user.failed_logins += 1
    _audit_login(session, user.username, "failure", source_ip, reason="bad_password")
    if user.failed_logins < MAX_FAILED_LOGINS:
        # The same words as for an unknown name: the answer must not tell which names exist.
        return LoginOutcome(None, BAD_CREDENTIALS)
    user.locked_until = utcnow() + LOCKOUT
    user.failed_logins = 0
    audit(
        session,
        "user.lock",
        actor="system",
        actor_kind="system",
        target=user.username,
        source_ip=source_ip,
        minutes=int(LOCKOUT.total_seconds() // 60),
    )
    return LoginOutcome(None, f"连续 {MAX_FAILED_LOGINS} 次密码错误，账号已锁定 15 分钟")


def _audit_login(
    session: Session, username: str, outcome: str, source_ip: str | None, reason: str = ""
) -> None:
    audit(
        session,
        "auth.login",
        actor=username,
        target=username,
        outcome=outcome,
        source_ip=source_ip,
        reason=reason,
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user: User, source_ip: str | None, method: str = "password"
) -> tuple[LoginSession, str]:
    """Open a login session; return it with the cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = LoginSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + MAX_AGE,
        last_seen_at=now,
        source_ip=source_ip,
        method=method,
    )
    session.add(row)
    session.flush()
    return row, token


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    login: LoginSession
    user: User


def resolve_session(session: Session, token: str) -> ActiveSession | None:
    """The signed-in user behind a cookie token, or None when unknown, expired or revoked."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return ActiveSession(principal_for_user(session, user), row, user)


def end_session(session: Session, token: str, source_ip: str | None = None) -> None:
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    user = session.get(User, row.user_id)
    name = user.username if user else str(row.user_id)
    audit(session, "auth.logout", actor=name, target=name, source_ip=source_ip)


def revoke_all_sessions(session: Session, user_id: int) -> int:
    """End every open session of a user (on password change, lock or deactivation)."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)
