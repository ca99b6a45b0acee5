"""Running one scenario: typed inputs → steps → rule explanations → human gate → stored result."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from sqlalchemy.orm import Session

from shuzhi.aigc import Mode, visible_label
from shuzhi.scenarios.catalogue import Catalogue, load_catalogue
from shuzhi.scenarios.definition import HumanGate, ScenarioDef
from shuzhi.scenarios.expr import compile_expr
from shuzhi.scenarios.model import ScenarioModel, as_model
from shuzhi.scenarios.rules import RuleHit
from shuzhi.scenarios.steps import STEP_KINDS, KnowledgeSearch, RunContext
from shuzhi.scenarios.values import coerce_inputs, jsonable
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced and how: outputs, the rules that fired, sources, mode and the gate."""

    scenario_id: str
    version: int
    field: str
    outputs: dict[str, Any]
    hits: list[RuleHit]
    citations: list[dict[str, Any]]
    mode: Mode
    models: list[str]
    needs_review: bool
    gate: HumanGate
    review_reasons: list[str] = default(default_factory=list)
    notifications: list[dict[str, Any]] = default(default_factory=list)
    trace: list[dict[str, Any]] = default(default_factory=list)
    warnings: list[str] = default(default_factory=list)
    duration_ms: float = 0.0
    run_id: str | None = None
    review_task_id: int | None = None
    decided_by: str = "ai"

    @property
    def label(self) -> str:
        """The visible AI-content label the result must be shown with."""
        return visible_label(self.mode)

    @property
    def fired(self) -> list[str]:
        return [h.rule for h in self.hits]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "scenario_id": self.scenario_id,
            "version": self.version,
            "field": self.field,
            "outputs": self.outputs,
            "explanations": [h.as_dict() for h in self.hits],
            "citations": self.citations,
            "mode": self.mode.value,
            "models": self.models,
            "label": self.label,
            "decided_by": self.decided_by,
            "needs_review": self.needs_review,
            "gate": self.gate.value,
            "review_reasons": self.review_reasons,
            "review_task_id": self.review_task_id,
            "notifications": self.notifications,
            "trace": self.trace,
            "warnings": self.warnings,
            "duration_ms": round(self.duration_ms, 2),
        }


def run_scenario(
    scenario: str | ScenarioDef,
    inputs: Mapping[str, Any],
    *,
    db: Database | None = None,
    gateway: ScenarioModel | Any | None = None,
    knowledge: KnowledgeSearch | None = None,
    catalogue: Catalogue | None = None,
    actor: str = "system",
    department_id: int | None = None,
    session: Session | None = None,
) -> RunResult:
    """Run ``scenario`` on ``inputs``; bad inputs raise ``InvalidInput``.

    ``gateway`` is a :class:`shuzhi.gateway.Gateway` (or any ``ScenarioModel``); without one, or
    with no endpoint configured, the run is offline. With ``db`` (or an open ``session``, whose
    transaction is then used) the result is stored, audited and, when the human gate asks for
    it, queued as a review task.
    """
    definition = _resolve(scenario, catalogue, db)
    started = time.perf_counter()
    model = as_model(gateway, definition.id, department_id)
    ctx = RunContext(definition, coerce_inputs(definition, inputs), model, knowledge)
    _run_steps(ctx)
    result = _result(ctx, started)
    stored = session is not None or db is not None
    if stored:
        _store(db, session, definition, inputs, result, actor, department_id)
    # One INFO line per recorded run; evaluation runs (thousands, unstored) stay at DEBUG.
    log.log(
        logging.INFO if stored else logging.DEBUG,
        "scenario run %s mode=%s review=%s %.1fms",
        definition.id,
        result.mode.value,
        result.needs_review,
        result.duration_ms,
    )
    return result


def _store(
    db: Database | None,
    session: Session | None,
    definition: ScenarioDef,
    inputs: Mapping[str, Any],
    result: RunResult,
    actor: str,
    department_id: int | None,
) -> None:
    from shuzhi.scenarios.store import save_run

    if session is not None:
        save_run(session, definition, inputs, result, actor=actor, department_id=department_id)
        return
    assert db is not None
    with db.session() as own:
        save_run(own, definition, inputs, result, actor=actor, department_id=department_id)


def _resolve(
    scenario: str | ScenarioDef, catalogue: Catalogue | None, db: Database | None
) -> ScenarioDef:
    if isinstance(scenario, ScenarioDef):
        return scenario
    return (catalogue or load_catalogue(db=db)).get(scenario)


def _run_steps(ctx: RunContext) -> None:
    for index, step in enumerate(ctx.scenario.steps):
        name = step.id or f"{index + 1}.{step.kind}"
        if step.when is not None and not compile_expr(step.when)(ctx.scope):
            ctx.trace.append({"step": name, "kind": step.kind, "skipped": True})
            continue
        began = time.perf_counter()
        mode = STEP_KINDS[step.kind](step, ctx)
        elapsed = (time.perf_counter() - began) * 1000
        ctx.trace.append({"step": name, "kind": step.kind, "mode": mode.value, "ms": elapsed})


def _result(ctx: RunContext, started: float) -> RunResult:
    scenario = ctx.scenario
    modes = {t.get("mode") for t in ctx.trace}
    mode = Mode.MODEL if Mode.MODEL.value in modes else Mode.OFFLINE
    return RunResult(
        scenario_id=scenario.id,
        version=scenario.version,
        field=scenario.field.value,
        outputs={name: jsonable(ctx.scope.get(name)) for name in scenario.outputs},
        hits=ctx.hits,
        citations=ctx.citations,
        mode=mode,
        models=list(dict.fromkeys(ctx.models_used)),
        needs_review=_needs_review(ctx),
        gate=scenario.human_gate,
        review_reasons=_gate_reasons(ctx),
        notifications=ctx.notifications,
        trace=ctx.trace,
        warnings=ctx.warnings,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _gate_reasons(ctx: RunContext) -> list[str]:
    reasons = list(ctx.review_reasons)
    gate = ctx.scenario.human_gate
    if gate == HumanGate.APPROVE_BEFORE_EFFECT:
        reasons.append("本场景结果具有法律效力，须经人工审核后生效")
    elif gate == HumanGate.SAMPLED_AFTER and _sampled(ctx):
        reasons.append(f"事后抽检（抽检比例 {ctx.scenario.sample_rate:.0%}）")
    elif gate == HumanGate.CITIZEN_CONFIRMS:
        reasons.append("须由申请人本人确认后提交")
    return reasons


def _needs_review(ctx: RunContext) -> bool:
    """A named reviewer must decide: by the gate, by a review step, or by sampling."""
    gate = ctx.scenario.human_gate
    if gate == HumanGate.APPROVE_BEFORE_EFFECT or ctx.review_reasons:
        return True
    return gate == HumanGate.SAMPLED_AFTER and _sampled(ctx)


def _sampled(ctx: RunContext) -> bool:
    # Deterministic sampling (same inputs, same answer), so evaluation cases are repeatable.
    digest = hashlib.sha256(
        json.dumps(jsonable(ctx.scope), sort_keys=True, ensure_ascii=False).encode()
    ).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < ctx.scenario.sample_rate
