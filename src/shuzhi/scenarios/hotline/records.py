"""Plain records passed between the hotline steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


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
class Order:
    """A work order as the batch produces it, before it is stored or written out."""

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

    @property
    def status(self) -> str:
        return "pending_review" if self.dispatch.needs_review else "dispatched"

    def as_dict(self) -> dict[str, Any]:
        m, d = self.message, self.dispatch
        return {
            "code": self.code,
            "source_row": m.row,
            "source_ref": m.ref,
            "title": self.masked_title,
            "text": self.masked_text,
            "requester": self.requester_display,
            "received_at": m.received_at.isoformat() if m.received_at else None,
            "location": self.location,
            "category": d.category,
            "category_path": self.category_path,
            "handling_unit": d.handling_unit,
            "order_type": self.order_type,
            "urgency": self.urgency,
            "deadline": self.deadline.due.isoformat() if self.deadline.due else None,
            "deadline_basis": self.deadline.basis,
            "confidence": round(d.confidence, 4),
            "candidates": [[c, round(p, 4)] for c, p in d.candidates],
            "status": self.status,
            "decided_by": "ai",
            "mode": d.mode,
            "model": d.model,
            "demands": self.demands,
            "label": m.label,
        }
