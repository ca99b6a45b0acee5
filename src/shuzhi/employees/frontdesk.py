"""The front desk (一网通办): recognise what a citizen needs and send them to the right place.

Offline it ranks the employees and scenarios by similarity between the message and what each
target says about itself: its name (twice), description, the string inputs of its positive cases
and the phrasings citizens use for it (a scenario's ``asks``, an employee's ``examples``). Text is
compared twice, as character 2–3-grams (no segmentation model, copes with typos and colloquial
wording) and as rjieba words without stopwords, TF-IDF each, half and half. A target's score
mixes that similarity with the one of its closest single phrasing, so one citizen-worded example
counts even when the legal description around it says something else.

Two rules then lower a score: a scenario only staff use (``audience: staff``) when the front desk
serves citizens, and an inspection scenario (检查/核查…) when the message asks to apply for
something (办/申请) and not to check it. Below a floor the desk says that nothing fits instead of
guessing. The weights and the floor were chosen on the dev half of
bench/frontdesk_requests.yaml (docs/employees.md gives the figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.cn.text import STOPWORDS, segment
from shuzhi.employees.definition import EmployeeDefinition
from shuzhi.scenarios import Catalogue, load_catalogue
from shuzhi.scenarios.definition import ScenarioDef

FLOOR = 0.16  # below it: nothing fits
CHAR_SHARE = 0.5  # character n-grams against words, in one similarity
ASK_SHARE = 0.3  # the closest single phrasing against the whole target text
STAFF_WEIGHT = 0.6  # a staff-only scenario, when citizens ask
INTENT_WEIGHT = 0.5  # an inspection scenario, when the citizen wants to apply

# 办 as "apply for / get done": 想办、要办、办个证、办理、申请; not 怎么办 "what to do" at the end.
_APPLYING = re.compile(
    r"申请|申领|办理|[想要去来能]办|办[个张本证照]|怎么办(?=[\u4e00-\u9fff])(?![吗呢啊呀吧啦])"
)
_CHECKING = ("检查", "核查", "核验", "审查", "抽查", "检定")


def wants_to_apply(text: str) -> bool:
    """The message asks to apply for or get something done, and not to check anything."""
    return bool(_APPLYING.search(text)) and not any(w in text for w in _CHECKING)


def is_inspection(name: str) -> bool:
    """A target named for a staff check (营业执照亮照检查, 平台内经营者资质核验 …)."""
    return any(w in name for w in _CHECKING)


@dataclass(frozen=True)
class Target:
    kind: str  # "employee" or "scenario"
    id: str
    name: str
    text: str
    inputs: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()  # how the people it serves say what they want
    audience: str = "citizen"  # "staff": only staff come for it


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
    asks = " ".join(s.asks)
    text = f"{s.name.zh} {s.name.zh} {s.description} {examples[:400]} {asks}"
    inputs = tuple(i.label or i.name for i in s.inputs)
    return Target("scenario", s.id, s.name.zh, text, inputs, tuple(s.asks), s.audience)


def _employee_target(d: EmployeeDefinition) -> Target:
    text = f"{d.name} {d.name} {d.role} {' '.join(d.examples)}"
    return Target("employee", d.id, d.name, text, asks=tuple(d.examples), audience=d.audience)


def _words(text: str) -> list[str]:
    return [w for w in segment(text) if w not in STOPWORDS]


class _Space:
    """Character 2–3-grams and words, TF-IDF each, fitted on the targets' texts."""

    def __init__(self, texts: list[str]) -> None:
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        self.chars.fit(texts)
        self.words: TfidfVectorizer | None = TfidfVectorizer(analyzer=_words, sublinear_tf=True)
        try:
            self.words.fit(texts)
        except ValueError:  # not one word outside the stopwords: characters alone
            self.words = None

    def vectors(self, texts: list[str]) -> tuple[Any, Any]:
        words = self.words.transform(texts) if self.words is not None else None
        return self.chars.transform(texts), words

    def similarity(self, rows: tuple[Any, Any], query: tuple[Any, Any]) -> NDArray[np.float64]:
        chars = (rows[0] @ query[0].T).toarray().ravel()
        if rows[1] is None:
            return np.asarray(chars, dtype=np.float64)
        words = (rows[1] @ query[1].T).toarray().ravel()
        return np.asarray(CHAR_SHARE * chars + (1 - CHAR_SHARE) * words, dtype=np.float64)


class FrontDesk:
    def __init__(self, targets: list[Target], *, citizens: bool = False) -> None:
        """Rank ``targets``; ``citizens``: citizens ask, and staff-only targets weigh less."""
        self.targets = targets
        self.citizens = citizens
        if not targets:
            return
        self._space = _Space([t.text for t in targets])
        self._texts = self._space.vectors([t.text for t in targets])
        asks = [(i, a) for i, t in enumerate(targets) for a in t.asks]
        self._owners = np.array([i for i, _ in asks], dtype=np.intp)
        self._asks = self._space.vectors([a for _, a in asks]) if asks else None
        weight = np.ones(len(targets))
        if citizens:
            weight[[i for i, t in enumerate(targets) if t.audience == "staff"]] = STAFF_WEIGHT
        self._weight = weight
        # Declared for citizens: trust the declaration over the name.
        self._inspections = [
            i
            for i, t in enumerate(targets)
            if t.kind == "scenario" and t.audience != "citizen" and is_inspection(t.name)
        ]

    @classmethod
    def for_employee(
        cls, definition: EmployeeDefinition, catalogue: Catalogue | None = None
    ) -> FrontDesk:
        catalogue = catalogue or load_catalogue()
        wanted = set(definition.scenarios) | {s.id for s in catalogue.for_employee(definition.id)}
        # Its own scenarios are all it offers: none is weighed against a citizen-facing rival.
        targets = [_scenario_target(catalogue.get(i)) for i in sorted(wanted)]
        return _built(tuple(targets), False)

    @classmethod
    def for_front_desk(cls, session: Session) -> FrontDesk:
        from shuzhi.employees import service
        from shuzhi.storage.models import Employee

        rows = session.scalars(select(Employee).where(Employee.status == "on_duty")).all()
        definitions = [service.load(session, r.slug).definition for r in rows]
        return cls.for_citizens(definitions, service.catalogue_for(session))

    @classmethod
    def for_citizens(cls, definitions: list[EmployeeDefinition], catalogue: Catalogue) -> FrontDesk:
        """The front desk over these employees (those on duty) and every scenario."""
        # Citizens are handed only to citizen-facing employees; staff-facing ones are not theirs.
        targets = [
            _employee_target(d) for d in definitions if not d.front_desk and d.audience == "citizen"
        ]
        targets += [_scenario_target(s) for s in catalogue.scenarios.values()]
        return _built(tuple(targets), True)

    def scores(self, text: str) -> NDArray[np.float64]:
        """Every target's score for ``text``, in the order of ``targets``."""
        query = self._space.vectors([text])
        whole = self._space.similarity(self._texts, query)
        closest = np.zeros(len(self.targets))
        if self._asks is not None:
            np.maximum.at(closest, self._owners, self._space.similarity(self._asks, query))
        scores = (ASK_SHARE * closest + (1 - ASK_SHARE) * whole) * self._weight
        if self._inspections and wants_to_apply(text):
            scores[self._inspections] *= INTENT_WEIGHT
        return scores

    def rank(self, text: str, k: int = 5) -> list[tuple[Target, float]]:
        if not self.targets or not text.strip():
            return []
        scores = self.scores(text)
        order = np.argsort(-scores, kind="stable")[:k]
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


@lru_cache(maxsize=16)
def _built(targets: tuple[Target, ...], citizens: bool) -> FrontDesk:
    # The front desk is asked for on every message; fitting it takes ~0.1 s for the shipped
    # catalogue, and the targets change only when an employee or a scenario does.
    return FrontDesk(list(targets), citizens=citizens)


def routed(ranked: list[tuple[Target, float]], index: int) -> Routed:
    """The ``index``-th ranked target as the routing decision, the others as alternatives."""
    best, score = ranked[index]
    others = tuple((t.kind, t.id, s) for i, (t, s) in enumerate(ranked) if i != index)[:3]
    return Routed(best.kind, best.id, best.name, score, best.inputs, others)
