from __future__ import annotations

import csv
import io
import os
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from shuzhi.errors import InvalidInput
from shuzhi.platform.audit import AuditFilter, audit, export_csv, prune, verify_chain
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import AuditAnchor, AuditRecord
from tests.platform.helpers import as_database_owner


def _write(db: Database, n: int, *, days_ago: int = 0) -> list[int]:
    ids = []
    with db.session() as session:
        if days_ago:
            as_database_owner(session)
        for i in range(n):
            record = audit(session, "test.event", actor=f"u{i}", target=f"t{i}", n=i)
            if days_ago:
                # Back-date before hashing would be honest; rewrite both so the chain holds.
                record.at = utcnow() - timedelta(days=days_ago)
            ids.append(record.id)
    if days_ago:
        _rehash(db)
    return ids


def _rehash(db: Database) -> None:
    from shuzhi.platform.audit import GENESIS, record_hash

    with db.session() as session:
        as_database_owner(session)
        prev = GENESIS
        for record in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
            record.prev_hash = prev
            record.hash = record_hash(record)
            prev = record.hash


def test_untouched_chain_verifies(db: Database) -> None:
    _write(db, 5)
    with db.session() as session:
        report = verify_chain(session)
    assert report.ok and report.checked == 5


def test_edited_record_is_detected(db: Database) -> None:
    ids = _write(db, 5)
    with db.session() as session:
        as_database_owner(session)
        session.execute(
            update(AuditRecord).where(AuditRecord.id == ids[2]).values(outcome="failure")
        )
    with db.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.broken_at == ids[2] and "修改" in report.reason


@pytest.mark.parametrize("victim", [0, 2, 4])
def test_deleted_record_is_detected(db: Database, victim: int) -> None:
    ids = _write(db, 5)
    with db.session() as session:
        as_database_owner(session)
        session.execute(delete(AuditRecord).where(AuditRecord.id == ids[victim]))
    with db.session() as session:
        report = verify_chain(session)
    if victim == 4:
        # Removing the newest record leaves a shorter but consistent chain: only the count
        # shows it, which is why every export carries the ids and hashes.
        assert report.ok and report.checked == 4
    else:
        assert not report.ok and report.broken_at == ids[victim + 1]


def test_prune_keeps_the_chain_verifiable(db: Database) -> None:
    old = _write(db, 4, days_ago=200)
    recent = _write(db, 3)
    with db.session() as session:
        result = prune(session, utcnow() - timedelta(days=190), actor="audadmin")
    assert result.pruned == 4
    with db.session() as session:
        kept = session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)).all()
        assert kept[:3] == recent and kept[-1] not in old
        assert (
            session.scalar(select(AuditRecord.action).order_by(AuditRecord.id.desc()).limit(1))
            == "audit.prune"
        )
        assert verify_chain(session).ok
        as_database_owner(session)
        session.execute(delete(AuditRecord).where(AuditRecord.id == recent[0]))
    with db.session() as session:
        assert not verify_chain(session).ok, "deleting the oldest kept record must show"


def test_prune_refuses_records_younger_than_180_days(db: Database) -> None:
    _write(db, 2)
    with db.session() as session, pytest.raises(InvalidInput, match="180"):
        prune(session, utcnow() - timedelta(days=30), actor="a")
    with db.session() as session:
        assert session.scalar(select(AuditAnchor)) is None


def test_export_csv_round_trips_and_is_audited(db: Database) -> None:
    _write(db, 3)
    out = io.StringIO()
    with db.session() as session:
        count = export_csv(session, out, AuditFilter(action="test."), actor="aud")
    assert count == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["actor"] for r in rows] == ["u0", "u1", "u2"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert '"n": 1' in rows[1]["detail"]
    with db.session() as session:
        last = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert last is not None and last.action == "audit.export" and last.detail["rows"] == 3


def test_the_database_refuses_edits_and_stray_deletes(db: Database) -> None:
    ids = _write(db, 2)
    with pytest.raises(DatabaseError, match="append-only"), db.session() as session:
        session.execute(update(AuditRecord).where(AuditRecord.id == ids[0]).values(actor="x"))
    if db.dialect == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), db.session() as session:
            session.execute(delete(AuditRecord).where(AuditRecord.id == ids[1]))
    with db.session() as session:
        assert verify_chain(session).ok and verify_chain(session).checked == 2


def test_export_csv_never_hands_a_spreadsheet_a_formula(db: Database) -> None:
    with db.session() as session:
        audit(session, "test.kb", actor="=cmd|' /C calc'!A0", target='=HYPERLINK("http://x")')
    out = io.StringIO()
    with db.session() as session:
        export_csv(session, out, AuditFilter(action="test."), actor="aud")

    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["target"] == '\'=HYPERLINK("http://x")' and row["actor"].startswith("'=cmd")


def test_personal_data_in_a_record_is_masked_and_the_chain_holds(db: Database) -> None:
    """A file named by a citizen's phone, a sign-in typed as an ID number: who did what is
    recorded, the citizen's numbers are not."""
    phone, id_number = "13812345678", "11010519491231002X"
    with db.session() as session:
        audit(session, "kb.import", actor=phone, target=f"{phone}-{id_number}.md",
              file=f"{phone}.md", files=[{"name": id_number}], count=3)  # fmt: skip
    with db.session() as session:
        record = session.scalars(select(AuditRecord)).one()
        stored = f"{record.actor} {record.target} {record.detail}"
        assert phone not in stored and id_number not in stored
        assert record.target.startswith("138****5678") and record.detail["count"] == 3
        assert verify_chain(session).ok


def test_a_name_that_is_not_utf8_is_recorded_replaced_and_the_chain_holds(db: Database) -> None:
    """A GBK file name from a Windows zip reaches Python as lone surrogates; any text may."""
    name = os.fsdecode("留言.csv".encode("gbk"))
    with db.session() as session:
        audit(session, "hotline.batch", actor=name, target=name, file=name,
              names={name: [name, "\ud800"]})  # fmt: skip
    with db.session() as session:
        record = session.scalars(select(AuditRecord)).one()
        assert record.target == "\ufffd" * 4 + ".csv" == record.actor == record.detail["file"]
        assert record.detail["names"] == {"\ufffd" * 4 + ".csv": ["\ufffd" * 4 + ".csv", "\ufffd"]}
        assert verify_chain(session).ok


def test_the_hash_of_a_text_with_lone_surrogates_is_that_of_its_replaced_form() -> None:
    """record_hash never fails on such a text, and agrees with the form a record stores."""
    from shuzhi.platform.audit import GENESIS, record_hash

    at = utcnow()

    def record(target: str) -> AuditRecord:
        return AuditRecord(at=at, actor="a", actor_kind="user", action="x", target=target,
                           outcome="success", detail={}, prev_hash=GENESIS)  # fmt: skip

    assert record_hash(record("\udcc1\udcf4.csv")) == record_hash(record("\ufffd\ufffd.csv"))
