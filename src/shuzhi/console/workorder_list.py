"""The work-order list of the console: the filters a clerk sets, the query they make and its pages.

The filters travel in the query string, so a page link, a bookmark and an htmx swap all carry
them; the department scope is applied before any filter and never comes from the query string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shuzhi.platform.identity import Principal
from shuzhi.storage.models import WorkOrder
from shuzhi.validation import check_name

PAGE_SIZE = 50
URGENCIES = ("urgent", "high", "normal")
# An order is done when closed (办结); any other status past its deadline is overdue.
CLOSED = "closed"
_TRUE = {"1", "true", "on", "yes"}
FILTER_NAMES = {"status": "状态", "category": "分类", "unit": "承办单位", "q": "搜索内容"}


@dataclass(frozen=True)
class OrderFilter:
    status: str = ""
    category: str = ""
    unit: str = ""
    urgency: str = ""
    overdue: bool = False
    q: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> OrderFilter:
        """The filters in a query string; unknown keys are ignored, values are trimmed.

        A control character is refused: a NUL cuts SQLite's LIKE pattern short (``q=%00``
        listed every order) and PostgreSQL refuses it outright."""
        text = {k: (params.get(k) or "").strip() for k in ("status", "category", "unit", "q")}
        for key, value in text.items():
            check_name(value, FILTER_NAMES[key], multiline=True)
        urgency = (params.get("urgency") or "").strip()
        return cls(
            **text,
            urgency=urgency if urgency in URGENCIES else "",
            overdue=(params.get("overdue") or "").strip().lower() in _TRUE,
        )

    @property
    def active(self) -> bool:
        return self != OrderFilter()

    def query_string(self, page: int | None = None) -> str:
        """The filters (and ``page``) as a query string, leaving out what is not set."""
        values: dict[str, Any] = {k: v for k, v in asdict(self).items() if v}
        if self.overdue:
            values["overdue"] = "1"
        if page is not None and page > 1:
            values["page"] = page
        return urlencode(values)

    def apply(self, query: Select[Any], today: date) -> Select[Any]:
        if self.status:
            query = query.where(WorkOrder.status == self.status)
        if self.category:
            query = query.where(WorkOrder.category == self.category)
        if self.unit:
            query = query.where(WorkOrder.handling_unit == self.unit)
        if self.urgency:
            query = query.where(WorkOrder.urgency == self.urgency)
        if self.overdue:
            query = query.where(WorkOrder.deadline < today, WorkOrder.status != CLOSED)
        if self.q:
            query = query.where(_matches(self.q))
        return query


def _matches(text: str) -> Any:
    # autoescape: a clerk searching for "50%" means the characters, not a LIKE pattern.
    return or_(
        WorkOrder.title.icontains(text, autoescape=True),
        WorkOrder.text.icontains(text, autoescape=True),
        WorkOrder.code.icontains(text, autoescape=True),
    )


def scoped(query: Select[Any], principal: Principal) -> Select[Any]:
    """Only the orders of the departments in which ``principal`` holds ``workorder.read``."""
    visible = principal.visible_departments("workorder.read")
    return query if visible is None else query.where(WorkOrder.department_id.in_(visible))


def is_visible(order: WorkOrder, principal: Principal) -> bool:
    """The list's rule for one order, so a detail page never shows what the list hides."""
    visible = principal.visible_departments("workorder.read")
    return visible is None or order.department_id in visible


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def count(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first_row(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.size)

    def links(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and ``around`` either side of this one;
        ``None`` marks a gap."""
        wanted = {1, self.count} | set(range(self.number - around, self.number + around + 1))
        shown = sorted(n for n in wanted if 1 <= n <= self.count)
        links: list[int | None] = []
        for n in shown:
            if links and n - (links[-1] or 0) > 1:
                links.append(None)
            links.append(n)
        return links


_PAGE = re.compile(r"[0-9]+")
_LAST = 10**9  # beyond any real page: the last page is shown


def page_number(text: str | None) -> int:
    """The page asked for; anything that is not a positive number is the first page.

    ASCII digits only: ``str.isdigit`` also accepts ``²`` (which ``int`` refuses), and a
    5,000-digit number is past ``int``'s limit; a page past the end shows the last."""
    digits = (text or "").strip()
    if not _PAGE.fullmatch(digits):
        return 1
    return _LAST if len(digits) > 9 else max(int(digits), 1)


@dataclass
class Listing:
    orders: list[WorkOrder]
    page: Page
    filters: OrderFilter


def list_orders(
    session: Session, principal: Principal, filters: OrderFilter, page: int, today: date
) -> Listing:
    """One page of the filtered orders in scope, newest first; a page past the end is the last."""
    query = filters.apply(scoped(select(WorkOrder), principal), today)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    current = Page(page, total)
    current = replace(current, number=min(page, current.count))
    rows = query.order_by(WorkOrder.id.desc()).offset((current.number - 1) * PAGE_SIZE)
    return Listing(list(session.scalars(rows.limit(PAGE_SIZE))), current, filters)


@dataclass(frozen=True)
class Options:
    """The values the filter menus offer: those present in the reader's scope."""

    statuses: list[str]
    categories: list[str]
    units: list[str]


def filter_options(session: Session, principal: Principal) -> Options:
    def distinct(column: Any) -> list[str]:
        query = scoped(select(column).where(column.is_not(None)).distinct(), principal)
        return sorted(str(v) for v in session.scalars(query) if v)

    return Options(
        distinct(WorkOrder.status), distinct(WorkOrder.category), distinct(WorkOrder.handling_unit)
    )
