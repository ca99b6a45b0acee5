"""The audit log: append-only and hash-chained.

Each record's hash covers its own fields and the previous record's hash, so editing or deleting any
record breaks the chain from that point on (等保 2.0, GB/T 22239-2019 8.1.4.3 c: audit records are
protected from unexpected deletion, modification or overwriting).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, InvalidInput
from shuzhi.exports import csv_cell
from shuzhi.privacy import mask_for_display
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import AuditAnchor, AuditRecord

GENESIS = "0" * 64
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD.

    A file name whose bytes are not UTF-8 (a GBK name unpacked from a Windows zip) reaches
    Python with those bytes as lone surrogates, which neither UTF-8, the database nor the hash
    can encode. Records keep the replaced form, so the hash stored and the hash verified are
    computed over the same text.
    """
    return _LONE_SURROGATE.sub("\ufffd", text)


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
    return hashlib.sha256(storable(text).encode()).hexdigest()


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
        actor=_masked_text(actor),  # a failed sign-in keeps what was typed as the name
        actor_kind=actor_kind,
        department_id=department_id,
        action=storable(action),
        target=_masked_text(target),  # e.g. an uploaded file named by a citizen's phone
        outcome=outcome,
        source_ip=source_ip,
        detail=_masked(detail),
        prev_hash=_last_hash(session),
    )
    record.hash = record_hash(record)
    session.add(record)
    session.flush()
    return record


def _masked(value: Any) -> Any:
    """``value`` with personal data masked in every text inside it (GB/T 35273-2020 §6.3: the
    audit log records who did what, not the citizens' data the action touched), and every text
    :func:`storable`."""
    if isinstance(value, str):
        return _masked_text(value)
    if isinstance(value, dict):
        return {_storable_key(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _masked_text(value: str) -> str:
    return mask_for_display(storable(value))


def _storable_key(key: Any) -> Any:
    return storable(key) if isinstance(key, str) else key


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _chain_start(session: Session) -> str:
    """The hash the oldest kept record must point to: the last pruned one, or genesis."""
    anchor = session.scalar(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1))
    return anchor.last_hash if anchor is not None else GENESIS


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain from the oldest kept record; report the first record that does not fit.

    The oldest kept record must follow the pruning anchor (or genesis), so deleting records
    from the start of the log is detected as surely as editing or deleting one in the middle.
    """
    prev = _chain_start(session)
    count = 0
    for record in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        if record.prev_hash != prev:
            return ChainReport(count, record.id, "前一条记录被删除或修改")
        if record_hash(record) != record.hash:
            return ChainReport(count, record.id, "记录内容被修改")
        prev = record.hash
        count += 1
    return ChainReport(count)


# export and retention --------------------------------------------------------------------------

CSV_COLUMNS = (
    "id", "at", "actor", "actor_kind", "department_id", "action", "target", "outcome",
    "source_ip", "detail", "prev_hash", "hash",
)  # fmt: skip

# 等保 2.0 (GB/T 22239-2019 8.1.4.3 d) with the Cybersecurity Law Art. 21(3): network logs are
# kept for no less than six months.
MIN_RETENTION = timedelta(days=180)


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    actor: str | None = None
    department_id: int | None = None
    outcome: str | None = None


def query_records(
    session: Session, flt: AuditFilter, *, limit: int | None = None, newest_first: bool = False
) -> list[AuditRecord]:
    query = select(AuditRecord)
    if flt.since is not None:
        query = query.where(AuditRecord.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditRecord.at < flt.until)
    if flt.action:
        query = query.where(AuditRecord.action.startswith(flt.action))
    if flt.actor:
        query = query.where(AuditRecord.actor == flt.actor)
    if flt.department_id is not None:
        query = query.where(AuditRecord.department_id == flt.department_id)
    if flt.outcome:
        query = query.where(AuditRecord.outcome == flt.outcome)
    order = AuditRecord.id.desc() if newest_first else AuditRecord.id
    return list(session.scalars(query.order_by(order).limit(limit)))


def write_csv(records: Iterable[AuditRecord], out: TextIO) -> int:
    """Write records as CSV (UTF-8 with the hashes, so a copy can be checked later).

    A field a spreadsheet would run as a formula is written with a leading ``'``
    (``shuzhi.exports.csv_cell``): strip it before recomputing a record's hash from a copy.
    """
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for r in records:
        detail = json.dumps(r.detail, ensure_ascii=False, sort_keys=True)
        writer.writerow([csv_cell(v) for v in (
            r.id, r.at.isoformat(), r.actor, r.actor_kind, r.department_id or "", r.action,
            r.target, r.outcome, r.source_ip or "", detail, r.prev_hash, r.hash,
        )])  # fmt: skip
        count += 1
    return count


def export_csv(
    session: Session, out: TextIO, flt: AuditFilter, *, actor: str, source_ip: str | None = None
) -> int:
    """Export matching records to ``out``; the export itself is audited."""
    count = write_csv(query_records(session, flt), out)
    audit(
        session,
        "audit.export",
        actor=actor,
        target="audit_log",
        source_ip=source_ip,
        rows=count,
        since=_iso(flt.since),
        until=_iso(flt.until),
    )
    return count


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class PruneReport:
    pruned: int
    anchor_id: int | None


def prune(
    session: Session,
    before: datetime,
    *,
    actor: str,
    now: datetime | None = None,
    source_ip: str | None = None,
) -> PruneReport:
    """Delete records older than ``before``, keeping the chain verifiable through an anchor.

    Refuses to delete anything younger than :data:`MIN_RETENTION`.
    """
    now = now or utcnow()
    if before > now - MIN_RETENTION:
        raise InvalidInput(
            f"审计日志至少保存 {MIN_RETENTION.days} 天，不能删除 {before.date()} 之后的记录",
            hint="等保 2.0 要求日志留存不少于六个月；请选择更早的截止日期",
        )
    if not verify_chain(session).ok:
        raise Conflict("审计日志链校验未通过，不能清理", hint="先运行 `shuzhi audit verify` 排查")
    doomed = select(AuditRecord).where(AuditRecord.at < before).order_by(AuditRecord.id.desc())
    last = session.scalar(doomed.limit(1))
    if last is None:
        return PruneReport(0, None)
    count = session.scalar(select(func.count()).where(AuditRecord.id <= last.id)) or 0
    anchor = AuditAnchor(
        at=now,
        actor=actor,
        pruned_through_id=last.id,
        pruned_before=before,
        pruned_count=count,
        last_hash=last.hash,
    )
    session.add(anchor)
    if session.get_bind().dialect.name == "postgresql":
        # Lifts the append-only trigger for this transaction only (migration 0007).
        session.execute(text("SET LOCAL shuzhi.audit_prune = 'on'"))
    session.execute(delete(AuditRecord).where(AuditRecord.id <= last.id))
    session.flush()
    audit(
        session,
        "audit.prune",
        actor=actor,
        target="audit_log",
        source_ip=source_ip,
        pruned=count,
        before=before.isoformat(),
    )
    return PruneReport(count, anchor.id)
