"""Scenario records in the database: runs (with their review tasks) and installed scenarios."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, NotFound
from shuzhi.platform.audit import audit
from shuzhi.platform.review import create_review_task, on_decision
from shuzhi.scenarios.definition import HumanGate, ScenarioDef
from shuzhi.scenarios.loader import scenario_from_data
from shuzhi.scenarios.values import jsonable
from shuzhi.storage.db import Database
from shuzhi.storage.models import ReviewTask, Scenario, ScenarioRun

if TYPE_CHECKING:
    from shuzhi.scenarios.engine import RunResult

REVIEW_KIND = "scenario"
REVIEW_DAYS = 3


def save_run(
    session: Session,
    scenario: ScenarioDef,
    inputs: Mapping[str, Any],
    result: RunResult,
    *,
    actor: str,
    department_id: int | None,
) -> None:
    """Store the run, queue a review task when a person must decide, and audit both, inside the
    caller's transaction."""
    result.run_id = uuid.uuid4().hex
    run = _run_row(scenario, inputs, result, actor, department_id)
    session.add(run)
    session.flush()
    if result.needs_review:
        task = _queue_review(session, scenario, result, department_id)
        run.review_task_id = result.review_task_id = task.id
    audit(
        session,
        "scenario.run",
        actor=actor,
        target=f"scenario:{scenario.id}",
        department_id=department_id,
        run=result.run_id,
        mode=result.mode.value,
        needs_review=result.needs_review,
        rules=result.fired,
    )


def _run_row(
    scenario: ScenarioDef,
    inputs: Mapping[str, Any],
    result: RunResult,
    actor: str,
    department_id: int | None,
) -> ScenarioRun:
    return ScenarioRun(
        public_id=result.run_id,
        scenario_slug=scenario.id,
        scenario_version=scenario.version,
        field=scenario.field.value,
        department_id=department_id,
        employee_slug=scenario.employee,
        actor=actor,
        inputs=jsonable(dict(inputs)),
        outputs=result.outputs,
        explanations=[h.as_dict() for h in result.hits],
        citations=result.citations,
        mode=result.mode.value,
        model=", ".join(result.models)[:128] or None,
        needs_review=result.needs_review,
        status=_status(scenario, result),
        decided_by="ai",
        duration_ms=result.duration_ms,
    )


def _status(scenario: ScenarioDef, result: RunResult) -> str:
    if result.needs_review:
        return "pending_review"
    if scenario.human_gate == HumanGate.CITIZEN_CONFIRMS:
        return "awaiting_citizen"
    return "done"


def _queue_review(
    session: Session, scenario: ScenarioDef, result: RunResult, department_id: int | None
) -> Any:
    proposal = {
        "scenario": scenario.id,
        "run": result.run_id,
        "outputs": result.outputs,
        "explanations": [h.as_dict() for h in result.hits],
        "reasons": result.review_reasons,
        "mode": result.mode.value,
    }
    return create_review_task(
        session,
        department_id,
        REVIEW_KIND,
        "scenario_run",
        result.run_id or "",
        f"{scenario.name.zh}：{'；'.join(result.review_reasons)}",
        proposal,
        due_in_working_days=REVIEW_DAYS,
    )


def apply_decision(session: Session, task: ReviewTask) -> None:
    """A named reviewer decided a run's review task: the run now records a human decision.

    An edited decision replaces the outputs with the reviewer's (PIPL Art. 24: the decision
    with legal effect is the person's, kept beside the AI proposal in the task).
    """
    run = session.scalar(select(ScenarioRun).where(ScenarioRun.public_id == task.subject_id))
    if run is None:
        return
    run.status = task.status
    run.decided_by = "human"
    content = (task.decision or {}).get("content")
    if task.status == "edited" and isinstance(content, dict):
        edited = content.get("outputs", content)
        if isinstance(edited, dict):
            run.outputs = edited


on_decision(REVIEW_KIND, apply_decision)


def get_run(db: Database, run_id: str) -> dict[str, Any]:
    with db.session() as session:
        run = session.scalar(select(ScenarioRun).where(ScenarioRun.public_id == run_id))
        if run is None:
            raise NotFound(f"没有运行记录 {run_id}")
        return {
            "run_id": run.public_id,
            "scenario_id": run.scenario_slug,
            "department_id": run.department_id,
            "version": run.scenario_version,
            "field": run.field,
            "actor": run.actor,
            "outputs": run.outputs,
            "explanations": run.explanations,
            "citations": run.citations,
            "mode": run.mode,
            "model": run.model,
            "needs_review": run.needs_review,
            "review_task_id": run.review_task_id,
            "status": run.status,
            "decided_by": run.decided_by,
            "created_at": run.created_at.isoformat(),
        }


def installed_scenarios(db: Database) -> list[ScenarioDef]:
    """Scenarios installed from packs (or authored) in this deployment."""
    with db.session() as session:
        rows = session.scalars(select(Scenario).where(Scenario.source != "builtin")).all()
        return [_definition(row) for row in rows]


def _definition(row: Scenario) -> ScenarioDef:
    return scenario_from_data(
        yaml.safe_load(row.definition["yaml"]), None, f"已安装场景 {row.slug}"
    )


def install(
    session: Session, scenario: ScenarioDef, *, source: str, actor: str, replace: bool = False
) -> Scenario:
    """Install or (with ``replace``) upgrade one scenario; the same or an older version conflicts
    unless ``replace`` is given."""
    row = session.scalar(select(Scenario).where(Scenario.slug == scenario.id))
    if row is not None and not replace and row.version >= scenario.version:
        raise Conflict(
            f"场景 {scenario.id} 已安装（版本 {row.version}），导入的版本为 {scenario.version}",
            hint="提高场景的 version，或使用 --replace 覆盖",
        )
    if row is None:
        row = Scenario(slug=scenario.id)
        session.add(row)
    row.field = scenario.field.value
    row.name_zh = scenario.name.zh
    row.name_en = scenario.name.en
    row.employee_slug = scenario.employee
    row.version = scenario.version
    row.source = source
    # Kept as YAML text: PostgreSQL's JSONB reorders keys, and a compute step's order matters.
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    row.definition = {"yaml": yaml.safe_dump(data, allow_unicode=True, sort_keys=False)}
    session.flush()
    audit(
        session,
        "scenario.install",
        actor=actor,
        target=f"scenario:{scenario.id}",
        version=scenario.version,
        source=source,
    )
    return row
