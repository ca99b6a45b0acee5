"""The step kinds. Each has an offline implementation; some may also use the model base.

A step reads and writes the run's scope (inputs plus everything earlier steps produced) and adds
to the run's record: rule hits, citations, notifications, review reasons and its own trace line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shuzhi.aigc import Mode
from shuzhi.errors import ModelError
from shuzhi.scenarios.definition import (
    CheckRulesStep,
    ClassifyStep,
    ComputeStep,
    DraftStep,
    ExtractStep,
    NotifyStep,
    Pattern,
    RetrieveStep,
    ReviewStep,
    ScenarioDef,
)
from shuzhi.scenarios.expr import as_text, compile_expr, render
from shuzhi.scenarios.functions import FUNCTIONS, to_date
from shuzhi.scenarios.model import ScenarioModel
from shuzhi.scenarios.rules import RuleHit, apply_table

log = logging.getLogger(__name__)


class KnowledgeSearch(Protocol):
    """What retrieval needs from ``shuzhi.knowledge``: passages with a ``citation``."""

    def search(self, kbs: list[str], query: str, k: int) -> list[Any]: ...


@dataclass
class RunContext:
    """Everything one run accumulates while its steps execute."""

    scenario: ScenarioDef
    scope: dict[str, Any]
    model: ScenarioModel | None = None
    knowledge: KnowledgeSearch | None = None
    hits: list[RuleHit] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    models_used: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def use_model(self, step_wants_model: bool) -> bool:
        return step_wants_model and self.model is not None

    def cite(self, citation: dict[str, Any]) -> None:
        if citation not in self.citations:
            self.citations.append(citation)


def _text(expr: str, ctx: RunContext) -> str:
    return as_text(compile_expr(expr)(ctx.scope))


# --- extract -----------------------------------------------------------------------------------


def run_extract(step: ExtractStep, ctx: RunContext) -> Mode:
    text = _text(step.source, ctx)
    if ctx.use_model(step.model):
        try:
            ctx.scope.update(_extract_with_model(step, text, ctx))
            return Mode.MODEL
        except ModelError:
            ctx.warnings.append("模型抽取失败，已改用规则抽取")
    for name, spec in step.fields.items():
        pattern = spec if isinstance(spec, Pattern) else Pattern(regex=spec)
        ctx.scope[name] = _extract_one(pattern, text)
    return Mode.OFFLINE


def _extract_one(pattern: Pattern, text: str) -> Any:
    matches = [m.group(1) if m.groups() else m.group(0) for m in re.finditer(pattern.regex, text)]
    values = [_typed(pattern.type, m.strip()) for m in matches if m and m.strip()]
    if pattern.all:
        return values
    return values[0] if values else None


def _typed(kind: str, value: str) -> Any:
    if kind == "number":
        return FUNCTIONS["number"](value)
    if kind == "date":
        return to_date(value)
    return value


def _extract_with_model(step: ExtractStep, text: str, ctx: RunContext) -> dict[str, Any]:
    assert ctx.model is not None
    names = ", ".join(step.fields)
    reply = ctx.model.complete(
        "你是政务材料信息抽取助手。只输出一个 JSON 对象，键为要求的字段名，找不到的字段值为 null。",
        f"字段：{names}\n\n材料：\n{text}",
    )
    ctx.models_used.append(reply.model)
    try:
        data = json.loads(_json_block(reply.text))
    except json.JSONDecodeError as exc:
        raise ModelError("模型返回的不是 JSON") from exc
    if not isinstance(data, dict):
        raise ModelError("模型返回的不是 JSON 对象")
    return {name: data.get(name) for name in step.fields}


def _json_block(text: str) -> str:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    return match.group(0) if match else text


# --- classify ----------------------------------------------------------------------------------


def run_classify(step: ClassifyStep, ctx: RunContext) -> Mode:
    text = _text(step.source, ctx)
    label, confidence, matched = _classify_offline(step, text)
    mode = Mode.OFFLINE
    if ctx.use_model(step.model):
        chosen = _classify_with_model(step, text, ctx)
        if chosen is not None:
            label, confidence, matched, mode = chosen, 1.0, [], Mode.MODEL
    ctx.scope[step.into] = label
    ctx.scope[f"{step.into}_confidence"] = round(confidence, 3)
    ctx.scope[f"{step.into}_matched"] = matched
    return mode


def _classify_offline(step: ClassifyStep, text: str) -> tuple[str, float, list[str]]:
    """Keyword votes: the label whose keywords occur most often wins; ties go to the first."""
    scores: dict[str, int] = {}
    matched: dict[str, list[str]] = {}
    for label, words in step.labels.items():
        hits = [w for w in words if w and w in text]
        matched[label] = hits
        scores[label] = sum(text.count(w) for w in hits)
    total = sum(scores.values())
    if total == 0:
        return step.default, 0.0, []
    best = max(step.labels, key=lambda lbl: scores[lbl])
    return best, scores[best] / total, matched[best]


def _classify_with_model(step: ClassifyStep, text: str, ctx: RunContext) -> str | None:
    assert ctx.model is not None
    labels = "、".join(step.labels)
    try:
        reply = ctx.model.complete(
            f"你是政务分类助手。只回答下列类别之一，不要解释：{labels}", text
        )
    except ModelError:
        ctx.warnings.append("模型分类失败，已改用关键词分类")
        return None
    ctx.models_used.append(reply.model)
    answer = reply.text.strip()
    return next((label for label in step.labels if label in answer), None)


# --- retrieve ----------------------------------------------------------------------------------


def run_retrieve(step: RetrieveStep, ctx: RunContext) -> Mode:
    query = _text(step.query, ctx)
    if ctx.knowledge is not None and step.kbs:
        passages = [_from_knowledge(p) for p in ctx.knowledge.search(step.kbs, query, step.k)]
    else:
        passages = _search_shipped(ctx.scenario, query, step.k)
    for passage in passages:
        ctx.cite({"citation": passage["citation"], "text": passage["text"]})
    ctx.scope[step.into] = passages
    return Mode.OFFLINE


def _from_knowledge(passage: Any) -> dict[str, Any]:
    citation = getattr(passage, "citation", None)
    label = getattr(citation, "label", None) or str(citation or "")
    return {"text": str(getattr(passage, "text", "")), "citation": label, "score": None}


def _search_shipped(scenario: ScenarioDef, query: str, k: int) -> list[dict[str, Any]]:
    """Rank the scenario's own excerpts: keyword hits first, then shared character bigrams."""
    grams = {query[i : i + 2] for i in range(len(query) - 1)}
    scored = []
    for passage in scenario.passages:
        keyword_hits = sum(1 for w in passage.keywords if w in query)
        overlap = sum(1 for g in grams if g in passage.text)
        score = keyword_hits * 10 + overlap
        if score > 0:
            scored.append((score, passage))
    scored.sort(key=lambda pair: -pair[0])
    return [
        {"text": p.text, "citation": p.source.cite(), "score": s} for s, p in scored[:k] if s >= 2
    ]


# --- check rules, compute ---------------------------------------------------------------------


def run_check_rules(step: CheckRulesStep, ctx: RunContext) -> Mode:
    table = ctx.scenario.rules[step.table]
    value, hits = apply_table(step.table, table, ctx.scope)
    ctx.scope[step.into or step.table] = value
    ctx.hits.extend(hits)
    for hit in hits:
        ctx.cite({"citation": hit.citation, "rule": f"{hit.table}.{hit.rule}"})
    return Mode.OFFLINE


def run_compute(step: ComputeStep, ctx: RunContext) -> Mode:
    for name, source in step.set.items():
        ctx.scope[name] = compile_expr(source)(ctx.scope)
    return Mode.OFFLINE


# --- draft, review, notify ---------------------------------------------------------------------


def run_draft(step: DraftStep, ctx: RunContext) -> Mode:
    text = render(step.template, ctx.scope).strip()
    if ctx.use_model(step.model):
        try:
            reply = ctx.model.complete(  # type: ignore[union-attr]
                "你是政务文书助手。在不增加、不改变任何事实、数字、日期和法条的前提下，"
                "把草稿改写得通顺规范。" + step.instruction,
                text,
            )
            ctx.models_used.append(reply.model)
            ctx.scope[step.into] = reply.text.strip()
            return Mode.MODEL
        except ModelError:
            ctx.warnings.append("模型润色失败，已使用模板草稿")
    ctx.scope[step.into] = text
    return Mode.OFFLINE


def run_review(step: ReviewStep, ctx: RunContext) -> Mode:
    if compile_expr(step.require_if)(ctx.scope):
        ctx.review_reasons.append(render(step.reason, ctx.scope))
    return Mode.OFFLINE


def run_notify(step: NotifyStep, ctx: RunContext) -> Mode:
    ctx.notifications.append(
        {
            "to": render(step.to, ctx.scope),
            "channel": step.channel,
            "message": render(step.message, ctx.scope),
        }
    )
    return Mode.OFFLINE


STEP_KINDS: dict[str, Callable[[Any, RunContext], Mode]] = {
    "extract": run_extract,
    "classify": run_classify,
    "retrieve": run_retrieve,
    "check_rules": run_check_rules,
    "compute": run_compute,
    "draft": run_draft,
    "review": run_review,
    "notify": run_notify,
}
