"""Dashboard figures from the records: what counts as a handoff and as settled by the AI."""

from __future__ import annotations

from shuzhi.platform import review
from shuzhi.platform.metrics import dashboard
from shuzhi.storage.db import Database
from shuzhi.storage.models import Conversation, WorkOrder
from tests.platform.helpers import department


def test_handoffs_and_automation_count_what_the_runtime_records(db: Database) -> None:
    with db.session() as session:
        cg = department(session, "cg", "城管局").id
        session.add(Conversation(public_id="plain", department_id=cg))
        session.add(Conversation(public_id="waiting", department_id=cg, status="handed_off"))
        answered = Conversation(public_id="answered", department_id=cg, status="open")
        session.add(answered)
        session.flush()
        # The runtime reopens a conversation once a person answered; its handoff task remains.
        review.create_review_task(session, cg, "handoff", "conversation", answered.id, "转人工",
                                  {"question": "…"}, conversation_id=answered.id)  # fmt: skip
        session.add(WorkOrder(code="A", department_id=cg, decided_by="ai", status="dispatched"))
        session.add(WorkOrder(code="B", department_id=cg, decided_by="ai", status="pending_review"))
        session.add(WorkOrder(code="C", department_id=cg, decided_by="human", status="dispatched"))
    with db.session() as session:
        board = dashboard(session, {cg})
        elsewhere = dashboard(session, {cg + 1000})
    assert board.conversations == 3 and board.handoff_rate == round(2 / 3, 4)
    assert board.work_orders == 3 and board.automation_rate == round(1 / 3, 4)
    assert board.review_pending == 1
    assert elsewhere.conversations == 0 and elsewhere.handoff_rate is None
