"""The front desk (一网通办): recognise what a citizen needs and send them to the right place.

Offline it ranks the employees and scenarios by similarity between the message and their
descriptions and example requests (character n-gram TF-IDF, which needs no segmentation model and
copes with colloquial wording). Below a floor it says that nothing fits instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.employees.definition import EmployeeDefinition
from shuzhi.scenarios import Catalogue, load_catalogue
from shuzhi.scenarios.definition import ScenarioDef

FLOOR = 0.12


@dataclass(frozen=True)
class Target:
    kind: str  # "employee" or "scenario"
    id: str
    name: str
    text: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routed:
    kind: str
    id: str
    name: str
    score: float
    inputs: tuple[str, ...]
    alternatives: tuple[tuple[str, str, float], ...]

    def describe(self) -> str:
        if self.kind == "employee":
            return f"您的需求由“{self.name}”负责，已为您转接，请继续描述您的问题。"
        needed = "、".join(self.inputs)
        ask = f"办理时需要提供：{needed}。" if needed else ""
        return f"您的需求可以通过“{self.name}”办理。{ask}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "score": round(self.score, 3),
            "alternatives": [
                {"kind": k, "id": i, "score": round(s, 3)} for k, i, s in self.alternatives
            ],
        }


def _scenario_target(s: ScenarioDef) -> Target:
    # A case that expects an error or an unanswered question shows what the scenario is NOT for.
    positive = [
        c for c in s.cases if c.expect.error is None and c.expect.outputs.get("answered", True)
    ]
    examples = " ".join(str(v) for c in positive for v in c.inputs.values() if isinstance(v, str))
    text = f"{s.name.zh} {s.name.zh} {s.description} {examples[:400]}"
    inputs = tuple(i.label or i.name for i in s.inputs)
    return Target("scenario", s.id, s.name.zh, text, inputs)


def _employee_target(d: EmployeeDefinition) -> Target:
    text = f"{d.name} {d.name} {d.role} {' '.join(d.examples)}"
    return Target("employee", d.id, d.name, text)


class FrontDesk:
    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True
        )
        self._matrix = (
            self._vectorizer.fit_transform([t.text for t in targets]) if targets else None
        )

    @classmethod
    def for_employee(
        cls, definition: EmployeeDefinition, catalogue: Catalogue | None = None
    ) -> FrontDesk:
        catalogue = catalogue or load_catalogue()
        wanted = set(definition.scenarios) | {s.id for s in catalogue.for_employee(definition.id)}
        return cls([_scenario_target(catalogue.get(i)) for i in sorted(wanted)])

    @classmethod
    def for_front_desk(cls, session: Session) -> FrontDesk:
        from shuzhi.employees import service
        from shuzhi.storage.models import Employee

        rows = session.scalars(select(Employee).where(Employee.status == "on_duty")).all()
        definitions = [service.load(session, r.slug).definition for r in rows]
        # Citizens are handed only to citizen-facing employees; staff-facing ones are not theirs.
        targets = [
            _employee_target(d) for d in definitions if not d.front_desk and d.audience == "citizen"
        ]
        catalogue = service.catalogue_for(session)
        targets += [_scenario_target(s) for s in catalogue.scenarios.values()]
        return cls(targets)

    def rank(self, text: str, k: int = 5) -> list[tuple[Target, float]]:
        if self._matrix is None or not text.strip():
            return []
        scores = (self._matrix @ self._vectorizer.transform([text]).T).toarray().ravel()
        order = np.argsort(-scores)[:k]
        return [(self.targets[i], float(scores[i])) for i in order]

    def candidates(self, text: str, scenarios: int = 5) -> list[tuple[Target, float]]:
        """What a model may choose from: every employee, and the closest scenarios."""
        ranked = self.rank(text, k=len(self.targets))
        employees = [(t, s) for t, s in ranked if t.kind == "employee"]
        return employees + [(t, s) for t, s in ranked if t.kind == "scenario"][:scenarios]

    def route(self, text: str) -> Routed | None:
        ranked = self.rank(text)
        if not ranked or ranked[0][1] < FLOOR:
            return None
        return routed(ranked, 0)


def routed(ranked: list[tuple[Target, float]], index: int) -> Routed:
    """The ``index``-th ranked target as the routing decision, the others as alternatives."""
    best, score = ranked[index]
    others = tuple((t.kind, t.id, s) for i, (t, s) in enumerate(ranked) if i != index)[:3]
    return Routed(best.kind, best.id, best.name, score, best.inputs, others)
