"""Evaluation: run each scenario's own cases offline and report pass rates per scenario and field.

An employee may go on duty only when ``evaluate(<its scenarios>).ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shuzhi.errors import ShuzhiError
from shuzhi.scenarios.catalogue import Catalogue, load_catalogue
from shuzhi.scenarios.definition import Case, ScenarioDef
from shuzhi.scenarios.engine import RunResult, run_scenario
from shuzhi.scenarios.model import ScenarioModel
from shuzhi.scenarios.values import jsonable


@dataclass(frozen=True)
class CaseResult:
    scenario_id: str
    case: str
    passed: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class ScenarioEval:
    scenario_id: str
    field: str
    cases: list[CaseResult]

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total


@dataclass
class EvalReport:
    scenarios: list[ScenarioEval]

    @property
    def ok(self) -> bool:
        return bool(self.scenarios) and all(s.ok for s in self.scenarios)

    @property
    def cases_passed(self) -> int:
        return sum(s.passed for s in self.scenarios)

    @property
    def cases_total(self) -> int:
        return sum(s.total for s in self.scenarios)

    @property
    def pass_rate(self) -> float:
        return self.cases_passed / self.cases_total if self.cases_total else 0.0

    def by_field(self) -> dict[str, dict[str, Any]]:
        """Per field: scenarios, scenarios passing, cases passed, cases total and pass rate."""
        summary: dict[str, dict[str, Any]] = {}
        for s in self.scenarios:
            row = summary.setdefault(
                s.field, {"scenarios": 0, "scenarios_ok": 0, "cases_passed": 0, "cases_total": 0}
            )
            row["scenarios"] += 1
            row["scenarios_ok"] += s.ok
            row["cases_passed"] += s.passed
            row["cases_total"] += s.total
        for row in summary.values():
            row["pass_rate"] = row["cases_passed"] / row["cases_total"] if row["cases_total"] else 0
        return dict(sorted(summary.items()))

    def failures(self) -> list[CaseResult]:
        return [c for s in self.scenarios for c in s.cases if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "pass_rate": self.pass_rate,
            "cases_passed": self.cases_passed,
            "cases_total": self.cases_total,
            "by_field": self.by_field(),
            "scenarios": [
                {
                    "id": s.scenario_id,
                    "field": s.field,
                    "passed": s.passed,
                    "total": s.total,
                    "pass_rate": s.pass_rate,
                    "failures": [
                        {"case": c.case, "problems": c.problems} for c in s.cases if not c.passed
                    ],
                }
                for s in self.scenarios
            ],
        }


def evaluate(
    scenario_ids: Iterable[str] | None = None,
    *,
    catalogue: Catalogue | None = None,
    gateway: ScenarioModel | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Run the cases of ``scenario_ids`` (every scenario when None), offline unless a model is
    given. Never touches the database. ``progress(done, total)`` is called after each scenario."""
    catalogue = catalogue or load_catalogue()
    ids = list(scenario_ids) if scenario_ids is not None else sorted(catalogue.scenarios)
    scenarios = [catalogue.get(i) for i in ids]
    results = []
    for done, scenario in enumerate(scenarios, 1):
        results.append(evaluate_scenario(scenario, gateway=gateway))
        if progress is not None:
            progress(done, len(scenarios))
    return EvalReport(results)


def evaluate_employee(slug: str, *, catalogue: Catalogue | None = None) -> EvalReport:
    """The duty gate: every case of every scenario the employee ``slug`` serves, offline.

    An employee that serves no scenario gets an empty report, which is not ``ok``.
    """
    catalogue = catalogue or load_catalogue()
    return evaluate([s.id for s in catalogue.for_employee(slug)], catalogue=catalogue)


def evaluate_scenario(
    scenario: ScenarioDef, *, gateway: ScenarioModel | None = None
) -> ScenarioEval:
    cases = [check_case(scenario, case, gateway=gateway) for case in scenario.cases]
    return ScenarioEval(scenario.id, scenario.field.value, cases)


def check_case(
    scenario: ScenarioDef, case: Case, *, gateway: ScenarioModel | None = None
) -> CaseResult:
    expect = case.expect
    try:
        result = run_scenario(scenario, case.inputs, gateway=gateway)
    except ShuzhiError as exc:
        if expect.error is not None and expect.error in exc.message:
            return CaseResult(scenario.id, case.name, True)
        return CaseResult(scenario.id, case.name, False, [f"运行出错：{exc.message}"])
    if expect.error is not None:
        return CaseResult(scenario.id, case.name, False, [f"应报错「{expect.error}」却成功运行"])
    problems = _compare(result, case)
    return CaseResult(scenario.id, case.name, not problems, problems)


def _compare(result: RunResult, case: Case) -> list[str]:
    expect = case.expect
    scope = result.outputs
    problems = []
    for name, wanted in expect.outputs.items():
        got = _lookup(scope, name)
        if not _equal(got, jsonable(wanted)):
            problems.append(f"输出 {name} 应为 {wanted!r}，实际为 {got!r}")
    for name, needles in expect.contains.items():
        text = str(_lookup(scope, name) or "")
        for needle in [needles] if isinstance(needles, str) else needles:
            if needle not in text:
                problems.append(f"输出 {name} 应包含「{needle}」")
    problems += [f"规则 {r} 应触发而未触发" for r in expect.fired if r not in result.fired]
    problems += [f"规则 {r} 不应触发却触发了" for r in expect.not_fired if r in result.fired]
    if expect.needs_review is not None and expect.needs_review != result.needs_review:
        problems.append(f"needs_review 应为 {expect.needs_review}，实际为 {result.needs_review}")
    return problems


def _lookup(scope: dict[str, Any], dotted: str) -> Any:
    value: Any = scope
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _equal(got: Any, wanted: Any) -> bool:
    if isinstance(got, float) or isinstance(wanted, float):
        try:
            return abs(float(got) - float(wanted)) < 0.005
        except (TypeError, ValueError):
            return False
    return bool(got == wanted)
