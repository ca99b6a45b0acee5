"""Plain records passed between the hotline steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shuzhi.cn.clock import local_iso


@dataclass
class Message:
    """One citizen message as imported: cleaned, not yet masked or classified."""

    row: int
    text: str
    title: str = ""
    ref: str | None = None
    requester: str | None = None
    received_at: datetime | None = None
    label: str | None = None
    reply: str | None = None
    replied_at: datetime | None = None
    votes_up: int = 0
    votes_down: int = 0

    @property
    def full_text(self) -> str:
        """Title and text together, without repeating a title the text already starts with."""
        if not self.title or self.text.startswith(self.title):
            return self.text
        return f"{self.title}。{self.text}" if self.text else self.title


@dataclass(frozen=True)
class ImportProblem:
    """A row that could not be used as it is; ``kept`` says whether the rest of it was used."""

    row: int
    reason: str
    kept: bool = False


@dataclass
class ImportResult:
    source: str
    messages: list[Message]
    problems: list[ImportProblem] = field(default_factory=list)
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def has_labels(self) -> bool:
        return any(m.label for m in self.messages)


@dataclass
class Deadline:
    due: date | None
    working_days: int
    basis: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class Dispatch:
    """The dispatch proposal for one message."""

    category: str
    confidence: float
    handling_unit: str
    candidates: list[tuple[str, float]]
    mode: str  # "offline" (local classifier only) or "model" (combined with a model endpoint)
    model: str
    needs_review: bool
    reason: str = ""


@dataclass
class Stored:
    """How an order already in the database stands there, when its file is run again.

    Storing never overwrites a known order, so what a reviewer decided since the first run (the
    category, the unit, the status, ``decided_by``) stays; the files of the new run show this,
    not the run's fresh proposal."""

    category: str
    category_path: list[str]
    handling_unit: str
    confidence: float
    candidates: list[tuple[str, float]]
    status: str
    decided_by: str  # "ai" or "human"
    mode: str
    model: str
    decision: dict[str, Any] | None = None  # details.dispatch_decision: who, when, what, why
    reply_status: str | None = None
    # The due date as stored: one counted from the import differs from a later run's count.
    deadline: date | None = None
    deadline_basis: str = ""


@dataclass
class Order:
    """A work order as the batch produces it; ``stored`` is set when it was already stored."""

    code: str
    message: Message
    masked_text: str
    masked_title: str
    requester_display: str | None
    location: dict[str, str]
    order_type: str
    urgency: str
    deadline: Deadline
    dispatch: Dispatch
    category_path: list[str] = field(default_factory=list)
    demands: list[str] = field(default_factory=list)
    stored: Stored | None = None

    @property
    def proposed_status(self) -> str:
        """The status this run's proposal gives: what a new order is stored with."""
        return "pending_review" if self.dispatch.needs_review else "dispatched"

    @property
    def status(self) -> str:
        return self.stored.status if self.stored else self.proposed_status

    @property
    def category(self) -> str:
        return self.stored.category if self.stored else self.dispatch.category

    @property
    def handling_unit(self) -> str:
        return self.stored.handling_unit if self.stored else self.dispatch.handling_unit

    @property
    def decided_by(self) -> str:
        return self.stored.decided_by if self.stored else "ai"

    @property
    def mode(self) -> str:
        return self.stored.mode if self.stored else self.dispatch.mode

    @property
    def due(self) -> date | None:
        return self.stored.deadline if self.stored else self.deadline.due

    @property
    def deadline_basis(self) -> str:
        return (self.stored.deadline_basis if self.stored else "") or self.deadline.basis

    def as_dict(self) -> dict[str, Any]:
        """The order as written to the batch's files; times with Beijing's offset."""
        m, d, s = self.message, self.dispatch, self.stored
        confidence, candidates = (s.confidence, s.candidates) if s else (d.confidence, d.candidates)
        return {
            "code": self.code,
            "source_row": m.row,
            "source_ref": m.ref,
            "title": self.masked_title,
            "text": self.masked_text,
            "requester": self.requester_display,
            "received_at": local_iso(m.received_at),
            "location": self.location,
            "category": self.category,
            "category_path": s.category_path if s else self.category_path,
            "handling_unit": self.handling_unit,
            "order_type": self.order_type,
            "urgency": self.urgency,
            "deadline": self.due.isoformat() if self.due else None,
            "deadline_basis": self.deadline_basis,
            "confidence": round(confidence, 4),
            "candidates": [[c, round(p, 4)] for c, p in candidates],
            "status": self.status,
            "decided_by": self.decided_by,
            "decision": _decision(s.decision) if s else None,
            "reply_status": s.reply_status if s else None,
            "mode": self.mode,
            "model": s.model if s else d.model,
            "demands": self.demands,
            "label": m.label,
        }


def _decision(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored dispatch decision, its time (stored in UTC) given with Beijing's offset."""
    if not record:
        return None
    return {**record, "at": local_iso(_decision_time(record))}


def _decision_time(record: dict[str, Any] | None) -> datetime | None:
    """When a stored decision was made (``at``, ISO 8601 in UTC), or None."""
    try:
        at = datetime.fromisoformat(str((record or {}).get("at") or ""))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
