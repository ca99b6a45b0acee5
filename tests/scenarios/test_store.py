from __future__ import annotations

from sqlalchemy import select

from shuzhi.platform.audit import verify_chain
from shuzhi.scenarios import run_scenario
from shuzhi.scenarios.store import get_run
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, ReviewTask, ScenarioRun

ELIGIBLE = {
    "contribution_years": 6,
    "involuntary": True,
    "registered_unemployed": True,
    "seeking_job": True,
}


def test_a_decision_with_legal_effect_is_stored_and_queued_for_a_reviewer(db: Database) -> None:
    result = run_scenario("social.unemployment-benefit", ELIGIBLE, db=db, actor="clerk1")
    assert result.run_id and result.review_task_id

    with db.session() as session:
        run = session.scalar(select(ScenarioRun).where(ScenarioRun.public_id == result.run_id))
        assert run is not None
        assert run.status == "pending_review" and run.decided_by == "ai"
        assert run.outputs["months"] == 18
        assert run.explanations[0]["citation"] == "《失业保险条例》第十七条"
        task = session.get(ReviewTask, result.review_task_id)
        assert task is not None and task.status == "pending"
        assert task.subject_type == "scenario_run" and task.subject_id == result.run_id
        assert task.proposal["outputs"]["months"] == 18
        actions = session.scalars(select(AuditRecord.action)).all()
        assert "scenario.run" in actions and "review.create" in actions
        assert verify_chain(session).ok


def test_an_information_only_result_needs_no_review(db: Database) -> None:
    result = run_scenario(
        "market.ad-wording-prescreen",
        {"ad_text": "全网第一的电饭煲", "product_type": "普通商品"},
        db=db,
    )
    assert result.review_task_id is None
    stored = get_run(db, result.run_id or "")
    assert stored["status"] == "done" and stored["mode"] == "offline"
    assert [e["rule"] for e in stored["explanations"]] == ["AD9-3"]
    with db.session() as session:
        assert session.scalar(select(ReviewTask)) is None


def test_a_rejected_input_stores_nothing(db: Database) -> None:
    import pytest

    from shuzhi.errors import InvalidInput

    with pytest.raises(InvalidInput):
        run_scenario("social.unemployment-benefit", {"contribution_years": "x"}, db=db)
    with db.session() as session:
        assert session.scalar(select(ScenarioRun)) is None


def test_a_reviewers_decision_turns_the_run_into_a_human_decision(db: Database) -> None:
    from shuzhi.platform.identity import create_user, principal_for_user
    from shuzhi.platform.review import decide
    from shuzhi.platform.roles import Role

    result = run_scenario("social.unemployment-benefit", ELIGIBLE, db=db, actor="clerk1")
    with db.session() as session:
        user = create_user(session, "reviewer1", "password-123", [(Role.REVIEWER, None)])
        principal = principal_for_user(session, user)
        edited = {"outputs": {**result.outputs, "months": 12}}
        decide(
            session,
            result.review_task_id or 0,
            principal,
            "edit",
            reason="缴费记录有误",
            edited=edited,
        )

    stored = get_run(db, result.run_id or "")
    assert stored["decided_by"] == "human" and stored["status"] == "edited"
    assert stored["outputs"]["months"] == 12


def test_a_prefilled_form_waits_for_the_citizen_not_a_reviewer(db: Database) -> None:
    inputs = {"name": "张三", "id_number": "370102199001011231", "fill_on": "2024-06-01"}
    result = run_scenario("approval.form-prefill-from-id", inputs, db=db)
    assert not result.needs_review and result.review_task_id is None
    assert get_run(db, result.run_id or "")["status"] == "awaiting_citizen"


def test_sampling_after_the_fact_is_deterministic() -> None:
    from shuzhi.scenarios import builtin_catalogue

    scenario = builtin_catalogue().get("safety.interrogation-record-check")
    picks = [run_scenario(scenario, case.inputs).needs_review for case in scenario.cases[:4]]
    again = [run_scenario(scenario, case.inputs).needs_review for case in scenario.cases[:4]]
    assert picks == again
