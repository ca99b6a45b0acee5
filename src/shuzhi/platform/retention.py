"""How long citizens' conversations and uploaded batch files are kept (PIPL Art. 19, 47).

Personal information is kept no longer than its purpose needs. Two kinds of it pile up with no
end of their own:

- **conversations** with the digital employees (every turn, the masking vault that maps
  placeholders back to the citizen's phone number or ID): deleted, with their messages, once
  nothing has happened in them for ``conversation_keep_days``. One handed to a person whose
  review task still waits is kept until that task is decided: deleting it would lose the
  citizen's question before anyone answered it.
- **uploaded batch files** (the messages, histories and taxonomies sent to the hotline batch
  job, kept under ``<data_dir>/hotline/uploads``): deleted ``upload_keep_days`` after they
  arrived, unless a job that has not finished still names them. The work orders made from them
  stay (they are the department's records), and so does every output a batch wrote.

``0`` keeps that kind forever. Every pruning run is one audit record with the counts, never the
contents. Review tasks and work orders are records of decisions and are not pruned here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi.config import Settings
from shuzhi.jobs.store import FINISHED
from shuzhi.platform.audit import audit
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import Conversation, Job, Message, ReviewTask

log = logging.getLogger(__name__)

BATCH_UPLOADS = ("hotline", "uploads")  # under the data directory


@dataclass(frozen=True)
class RetentionReport:
    conversations: int
    uploads: int
    conversation_keep_days: int
    upload_keep_days: int

    def as_dict(self) -> dict[str, int]:
        return {
            "conversations": self.conversations,
            "uploads": self.uploads,
            "conversation_keep_days": self.conversation_keep_days,
            "upload_keep_days": self.upload_keep_days,
        }


def uploads_folder(settings: Settings) -> Path:
    return settings.data_dir.joinpath(*BATCH_UPLOADS)


def prune_conversations(session: Session, before: datetime) -> int:
    """Delete conversations with no turn since ``before`` (with their messages); keep those a
    pending review task is about."""
    waiting = select(ReviewTask.conversation_id).where(
        ReviewTask.status == "pending", ReviewTask.conversation_id.is_not(None)
    )
    # Activity is the newest turn: a turn does not touch the conversation's own row.
    recent = select(Message.conversation_id).where(Message.created_at >= before)
    stale = select(Conversation.id).where(
        Conversation.updated_at < before,
        Conversation.created_at < before,
        Conversation.id.not_in(waiting),
        Conversation.id.not_in(recent),
    )
    ids = list(session.scalars(stale))
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        session.execute(delete(Message).where(Message.conversation_id.in_(part)))
        session.execute(delete(Conversation).where(Conversation.id.in_(part)))
    return len(ids)


def prune_uploads(session: Session, folder: Path, before: datetime) -> int:
    """Delete uploaded batch files that arrived before ``before`` and no unfinished job names."""
    if not folder.is_dir():
        return 0
    in_use: set[str] = set()
    for params in session.scalars(select(Job.params).where(Job.status.not_in(FINISHED))):
        in_use.update(str(v) for v in (params or {}).values() if isinstance(v, str))
    cutoff = before.timestamp()
    count = 0
    for file in folder.iterdir():
        # Scratch folders of uploads being checked (``.incoming-*``) are the submitter's.
        if not file.is_file() or file.name.startswith("."):
            continue
        if str(file) in in_use or file.stat().st_mtime >= cutoff:
            continue
        file.unlink(missing_ok=True)
        count += 1
    return count


def apply_retention(
    session: Session, settings: Settings, *, actor: str = "system", now: datetime | None = None
) -> RetentionReport:
    """Prune what the settings say is past its keeping time, and audit the counts."""
    now = now or utcnow()
    talk_days, upload_days = settings.conversation_keep_days, settings.upload_keep_days
    conversations = (
        prune_conversations(session, now - timedelta(days=talk_days)) if talk_days else 0
    )
    uploads = (
        prune_uploads(session, uploads_folder(settings), now - timedelta(days=upload_days))
        if upload_days
        else 0
    )
    report = RetentionReport(conversations, uploads, talk_days, upload_days)
    kind = "system" if actor == "system" else "user"
    audit(session, "privacy.retention", actor=actor, actor_kind=kind,
          conversations=conversations, uploads=uploads,
          conversation_keep_days=talk_days, upload_keep_days=upload_days)  # fmt: skip
    if conversations or uploads:
        log.info("retention: %s conversations, %s uploads deleted", conversations, uploads)
    return report
