"""Figures for the dashboard and for Prometheus, computed from the records themselves.

Nothing here is a separate counter that could drift: every figure is a query over the
conversations, work orders, review tasks and model usage tables, scoped to departments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.platform.review import backlog
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import Conversation, Department, ModelUsage, ReviewTask, WorkOrder

# Minutes a clerk spends on one item by hand, from the bureau's own time studies; the
# dashboard shows the product as an estimate, never as a measurement.
MINUTES_SAVED_PER_CONVERSATION = 4.0
MINUTES_SAVED_PER_WORK_ORDER = 6.0
# A conversation counts as handed off when it was marked so or when a handoff review task was
# opened for it (the employee runtime puts the conversation back to "open" once a person has
# answered, so the task is the lasting record). The kind is shuzhi.employees.handoff's.
HANDOFF_STATUSES = ("handoff", "handed_off")
HANDOFF_KIND = "handoff"
# Work orders still waiting for a person are not settled by the AI, whoever proposed them.
PENDING_WORK_ORDER = "pending_review"


@dataclass
class DepartmentUsage:
    department: str
    tokens: int
    cost: float
    calls: int


@dataclass
class Dashboard:
    conversations: int = 0
    work_orders: int = 0
    automation_rate: float | None = None
    handoff_rate: float | None = None
    review_pending: int = 0
    review_overdue: int = 0
    hours_saved: float = 0.0
    satisfaction: float | None = None
    rated_conversations: int = 0
    usage: list[DepartmentUsage] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    conversations_per_day: list[int] = field(default_factory=list)
    work_orders_per_day: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _scoped(query: Any, column: Any, departments: set[int] | None) -> Any:
    return query if departments is None else query.where(column.in_(departments))


def _count(session: Session, model: Any, departments: set[int] | None, *where: Any) -> int:
    query = _scoped(select(func.count()).select_from(model), model.department_id, departments)
    return session.scalar(query.where(*where)) or 0


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dashboard(session: Session, departments: set[int] | None = None, days: int = 14) -> Dashboard:
    """The dashboard figures for ``departments`` (``None``: every department)."""
    board = Dashboard()
    board.conversations = _count(session, Conversation, departments)
    board.work_orders = _count(session, WorkOrder, departments)
    automated = _count(session, WorkOrder, departments, *_AUTOMATED)
    handoffs = _count(session, Conversation, departments, _handed_off())
    board.automation_rate = _rate(automated, board.work_orders)
    board.handoff_rate = _rate(handoffs, board.conversations)
    board.review_pending, board.review_overdue = backlog(session, departments)
    minutes = (board.conversations - handoffs) * MINUTES_SAVED_PER_CONVERSATION
    board.hours_saved = round((minutes + automated * MINUTES_SAVED_PER_WORK_ORDER) / 60, 1)
    _satisfaction(session, board, departments)
    board.usage = usage_by_department(session, departments)
    _daily(session, board, departments, days)
    return board


_AUTOMATED = (WorkOrder.decided_by == "ai", WorkOrder.status != PENDING_WORK_ORDER)


def _handed_off() -> Any:
    task = exists().where(
        ReviewTask.kind == HANDOFF_KIND, ReviewTask.conversation_id == Conversation.id
    )
    return or_(Conversation.status.in_(HANDOFF_STATUSES), task)


def _satisfaction(session: Session, board: Dashboard, departments: set[int] | None) -> None:
    query = select(func.avg(Conversation.satisfaction), func.count(Conversation.satisfaction))
    avg, rated = session.execute(_scoped(query, Conversation.department_id, departments)).one()
    board.satisfaction = round(float(avg), 2) if avg is not None else None
    board.rated_conversations = int(rated or 0)


def usage_by_department(session: Session, departments: set[int] | None) -> list[DepartmentUsage]:
    tokens = ModelUsage.prompt_tokens + ModelUsage.completion_tokens
    query = (
        select(
            Department.name,
            func.coalesce(func.sum(tokens), 0),
            func.coalesce(func.sum(ModelUsage.cost), 0.0),
            func.count(ModelUsage.id),
        )
        .select_from(ModelUsage)
        .outerjoin(Department, Department.id == ModelUsage.department_id)
        .group_by(Department.name)
    )
    rows = session.execute(_scoped(query, ModelUsage.department_id, departments)).all()
    return [
        DepartmentUsage(name or "（未归属）", int(t), float(c), int(n)) for name, t, c, n in rows
    ]


def _daily(session: Session, board: Dashboard, departments: set[int] | None, days: int) -> None:
    start = utcnow().date() - timedelta(days=days - 1)
    board.days = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    board.conversations_per_day = _per_day(session, Conversation, departments, start, days)
    board.work_orders_per_day = _per_day(session, WorkOrder, departments, start, days)


def _per_day(
    session: Session, model: Any, departments: set[int] | None, start: date, days: int
) -> list[int]:
    # Bucketing in Python keeps the query portable between SQLite and PostgreSQL.
    since = utcnow() - timedelta(days=days)
    query = _scoped(select(model.created_at), model.department_id, departments)
    counts = [0] * days
    for (created,) in session.execute(query.where(model.created_at >= since)):
        index = (created.date() - start).days
        if 0 <= index < days:
            counts[index] += 1
    return counts


class PlatformCollector(Collector):
    """Prometheus gauges read from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.session() as session:
            board = dashboard(session, days=1)
        yield from _gauges(board)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value if value is not None else float("nan"))


def _gauges(board: Dashboard) -> Iterator[GaugeMetricFamily]:
    yield _gauge("shuzhi_conversations", "Conversations recorded", board.conversations)
    yield _gauge("shuzhi_work_orders", "Work orders recorded", board.work_orders)
    yield _gauge("shuzhi_automation_ratio", "Work orders settled by AI", board.automation_rate)
    yield _gauge("shuzhi_handoff_ratio", "Conversations handed to a person", board.handoff_rate)
    yield _gauge("shuzhi_review_pending", "Review tasks waiting", board.review_pending)
    yield _gauge("shuzhi_review_overdue", "Review tasks past deadline", board.review_overdue)
    yield _gauge("shuzhi_satisfaction_mean", "Mean satisfaction (1-5)", board.satisfaction)
    tokens = GaugeMetricFamily("shuzhi_model_tokens", "Model tokens used", labels=["department"])
    cost = GaugeMetricFamily("shuzhi_model_cost", "Model cost (CNY)", labels=["department"])
    for row in board.usage:
        tokens.add_metric([row.department], row.tokens)
        cost.add_metric([row.department], row.cost)
    yield tokens
    yield cost
