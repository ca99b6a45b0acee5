"""Retrieval evaluation: recall@k and mean reciprocal rank over questions with known answers.

A question file is YAML, one item per question::

    - q: 工伤认定申请交上去以后，社保部门最晚多久要给出认定结论？
      doc: 工伤保险条例          # document title (中华人民共和国 may be left off)
      article: 第二十条           # the anchor; empty to accept any passage of the document
      also: [[失业保险条例, 第十四条]]   # other passages that answer equally well

Departments use this to check a knowledge base before an employee goes on duty with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from shuzhi.errors import InvalidInput, os_error_zh
from shuzhi.knowledge.catalog import short_title
from shuzhi.knowledge.model import Passage


class EvalQuestion(BaseModel):
    q: str
    doc: str
    article: str = ""
    also: list[tuple[str, str]] = []

    def answers(self) -> list[tuple[str, str]]:
        return [(self.doc, self.article), *self.also]

    def matches(self, passage: Passage) -> bool:
        title = short_title(passage.document_title)
        return any(
            short_title(doc) == title and (not article or article == passage.anchor)
            for doc, article in self.answers()
        )


@dataclass
class EvalResult:
    question: EvalQuestion
    rank: int | None  # 1-based rank of the first right passage within the top k
    got: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    k: int
    results: list[EvalResult]

    @property
    def recall(self) -> float:
        return sum(1 for r in self.results if r.rank) / max(1, len(self.results))

    @property
    def mrr(self) -> float:
        return sum(1 / r.rank for r in self.results if r.rank) / max(1, len(self.results))

    @property
    def misses(self) -> list[EvalResult]:
        return [r for r in self.results if not r.rank]


def load_questions(path: Path) -> list[EvalQuestion]:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        return [EvalQuestion.model_validate(item) for item in raw or []]
    except OSError as exc:
        raise InvalidInput(f"评测问题文件无法读取：{path}（{os_error_zh(exc)}）") from exc
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise InvalidInput(
            f"评测问题文件无法读取：{path}（{str(exc).splitlines()[0]}）",
            hint="每项需要 q、doc，可选 article、also",
        ) from exc


def score(question: EvalQuestion, passages: Sequence[Passage]) -> EvalResult:
    rank = next((i for i, p in enumerate(passages, start=1) if question.matches(p)), None)
    return EvalResult(question, rank, [p.citation for p in passages])
