"""The audit log: append-only and hash-chained.

Each record's hash covers its own fields and the previous record's hash, so editing or deleting any
record breaks the chain from that point on (等保 2.0, GB/T 22239-2019 8.1.4.3 c: audit records are
protected from unexpected deletion, modification or overwriting).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shuzhi.storage.db import utcnow
from shuzhi.storage.models import AuditRecord

GENESIS = "0" * 64


def record_hash(record: AuditRecord) -> str:
    payload = {
        "at": record.at.isoformat(),
        "actor": record.actor,
        "actor_kind": record.actor_kind,
        "department_id": record.department_id,
        "action": record.action,
        "target": record.target,
        "outcome": record.outcome,
        "source_ip": record.source_ip,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _last_hash(session: Session) -> str:
    last = session.scalar(select(AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1))
    return last or GENESIS


def audit(
    session: Session,
    action: str,
    *,
    actor: str,
    target: str = "",
    outcome: str = "success",
    department_id: int | None = None,
    source_ip: str | None = None,
    actor_kind: str = "user",
    **detail: Any,
) -> AuditRecord:
    """Append one record. Call it inside the transaction that makes the change it describes."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers so two transactions never chain onto the same previous record.
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    record = AuditRecord(
        at=utcnow(),
        actor=actor,
        actor_kind=actor_kind,
        department_id=department_id,
        action=action,
        target=target,
        outcome=outcome,
        source_ip=source_ip,
        detail=detail,
        prev_hash=_last_hash(session),
    )
    record.hash = record_hash(record)
    session.add(record)
    session.flush()
    return record


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the oldest kept record; report the first record that does not fit."""
    prev: str | None = None
    count = 0
    for record in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        if prev is not None and record.prev_hash != prev:
            return ChainReport(count, record.id, "前一条记录被删除或修改")
        if record_hash(record) != record.hash:
            return ChainReport(count, record.id, "记录内容被修改")
        prev = record.hash
        count += 1
    return ChainReport(count)
