"""Usage records: one row per gateway call with tokens, latency, cost and outcome, no text.

The Interim Measures for Generative AI Services (2023) Art. 11 ask providers not to keep
identifiable inputs without need, so a usage row says who called what and what it cost, and
nothing of what was said.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, insert, select
from sqlalchemy.orm import Session

from shuzhi.errors import InvalidInput
from shuzhi.gateway.catalog import EndpointConfig
from shuzhi.gateway.types import Caller, Usage
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import ModelUsage

log = logging.getLogger(__name__)


def cost_of(usage: Usage, endpoint: EndpointConfig | None) -> float:
    """Price per million tokens, with cache hits at the cached-input price (DeepSeek bills so)."""
    if endpoint is None:
        return 0.0
    total = (
        usage.cache_miss_tokens * endpoint.price_input
        + usage.cached_tokens * endpoint.price_cached_input
        + usage.completion_tokens * endpoint.price_output
    )
    return round(total / 1_000_000, 8)


def usage_from(raw: Any) -> Usage:
    """Read an OpenAI or DeepSeek usage object (``prompt_cache_hit_tokens`` when present)."""
    if raw is None:
        return Usage()
    extra = getattr(raw, "model_extra", None) or {}
    cached = extra.get("prompt_cache_hit_tokens")
    if cached is None:
        details = getattr(raw, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) or 0
    completion_details = getattr(raw, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        cached_tokens=int(cached or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        reasoning_tokens=int(getattr(completion_details, "reasoning_tokens", 0) or 0),
    )


@dataclass
class UsageRecord:
    request_id: str
    operation: str
    alias: str | None
    caller: Caller
    endpoint: EndpointConfig | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    outcome: str = "ok"
    error: str | None = None
    masked_items: int = 0
    attempts: int = 0
    stream: bool = False
    at: datetime = field(default_factory=utcnow)

    def to_row(self) -> ModelUsage:
        return ModelUsage(**self.to_values())

    def to_values(self) -> dict[str, Any]:
        return dict(
            at=self.at,
            request_id=self.request_id,
            operation=self.operation,
            alias=self.alias,
            endpoint=self.endpoint.name if self.endpoint else None,
            model=self.model or (self.endpoint.model if self.endpoint else None),
            caller_kind=self.caller.kind[:16],
            caller_id=(self.caller.id or "")[:128] or None,
            department_id=self.caller.department_id,
            prompt_tokens=self.usage.prompt_tokens,
            cached_tokens=self.usage.cached_tokens,
            completion_tokens=self.usage.completion_tokens,
            reasoning_tokens=self.usage.reasoning_tokens,
            latency_ms=round(self.latency_ms, 3),
            first_token_ms=self.first_token_ms,
            cost=cost_of(self.usage, self.endpoint),
            currency=self.endpoint.currency if self.endpoint else None,
            outcome=self.outcome,
            error=self.error[:2000] if self.error else None,
            masked_items=self.masked_items,
            attempts=self.attempts,
            stream=self.stream,
        )


def write_usage(db: Database, record: UsageRecord) -> None:
    """Store one record. A database failure is logged, never turned into a lost answer."""
    try:
        with db.session() as session:
            session.add(record.to_row())
    except Exception:
        log.exception("could not store the usage record of request %s", record.request_id)


@dataclass(frozen=True)
class UsageSummary:
    key: str | None
    calls: int
    failed: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost: float
    latency_ms_avg: float


GROUPS = ("endpoint", "alias", "caller", "department", "day")


def summarize_usage(
    session: Session,
    *,
    group_by: str = "endpoint",
    since: datetime | None = None,
    until: datetime | None = None,
    departments: set[int] | None = None,
) -> list[UsageSummary]:
    """Totals per endpoint, alias, caller, department or day; ``departments`` limits the rows."""
    if group_by not in GROUPS:
        raise InvalidInput(f"无法按 {group_by} 汇总", hint=f"可选：{'、'.join(GROUPS)}")
    key = _group_column(group_by)
    query = select(
        key,
        func.count(),
        func.sum(case((ModelUsage.outcome != "ok", 1), else_=0)),
        func.sum(ModelUsage.prompt_tokens),
        func.sum(ModelUsage.cached_tokens),
        func.sum(ModelUsage.completion_tokens),
        func.sum(ModelUsage.cost),
        func.avg(ModelUsage.latency_ms),
    ).group_by(key)
    if since is not None:
        query = query.where(ModelUsage.at >= since)
    if until is not None:
        query = query.where(ModelUsage.at < until)
    if departments is not None:
        query = query.where(ModelUsage.department_id.in_(departments))
    return [
        UsageSummary(
            None if k is None else str(k),
            int(n),
            int(f or 0),
            int(p or 0),
            int(c or 0),
            int(o or 0),
            round(float(cost or 0), 6),
            round(float(lat or 0), 1),
        )
        for k, n, f, p, c, o, cost, lat in session.execute(query.order_by(key))
    ]


def _group_column(group_by: str) -> Any:
    if group_by == "caller":
        return ModelUsage.caller_kind + ":" + func.coalesce(ModelUsage.caller_id, "")
    if group_by == "department":
        return ModelUsage.department_id
    if group_by == "day":
        return func.substr(cast(ModelUsage.at, String), 1, 10)
    return getattr(ModelUsage, group_by)


class UsageWriter:
    """Writes usage records from a background thread, many per transaction.

    A model call only queues its record, so neither the database round trip nor a busy SQLite
    writer lock adds to the call's latency. :meth:`flush` waits until everything queued so far is
    stored; the gateway flushes before reporting a failure and when it is closed.
    """

    def __init__(self, db: Database, batch: int = 500) -> None:
        self.db = db
        self.batch = batch
        self._queue: queue.SimpleQueue[UsageRecord | None] = queue.SimpleQueue()
        self._done = threading.Condition()
        self._submitted = 0
        self._written = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, record: UsageRecord) -> None:
        with self._lock:
            self._submitted += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
                self._thread.start()
        self._queue.put(record)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every record submitted so far is written; False on timeout."""
        with self._lock:
            target = self._submitted
        with self._done:
            return self._done.wait_for(lambda: self._written >= target, timeout=timeout)

    def close(self) -> None:
        self.flush()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            records = [first]
            while len(records) < self.batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                records.append(item)
            self._write(records)

    def _write(self, records: list[UsageRecord]) -> None:
        try:
            with self.db.session() as session:
                session.execute(insert(ModelUsage), [record.to_values() for record in records])
        except Exception:
            # One bad batch must not stop metering: store what can be stored, one by one.
            log.warning("batch of %d usage records failed; writing them singly", len(records))
            for record in records:
                write_usage(self.db, record)
        with self._done:
            self._written += len(records)
            self._done.notify_all()
