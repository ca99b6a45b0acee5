"""Decision forms for the review kinds whose proposals the console knows, so that a reviewer
edits a proposal with a menu or a text box and never has to write JSON.

- ``hotline_dispatch`` (``category``, ``handling_unit``): a menu of categories (the proposal's
  candidates first, then the duty list) and a menu of handling units (the duty list);
- ``hotline_reply`` (``text``): the draft's text in a text box.

The edited content is built here, on the server, from the fields; the raw JSON editor stays as
an advanced fallback (and is the only editor for other kinds). Problems are reported per field,
in Chinese, so the page can show each next to its input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shuzhi.errors import InvalidInput
from shuzhi.platform import review
from shuzhi.scenarios.hotline.decisions import (
    DISPATCH_REVIEW,
    REPLY_REVIEW,
    dispatch_categories,
    dispatch_units,
)
from shuzhi.scenarios.hotline.rules import Rules, load_rules
from shuzhi.storage.models import ReviewTask

# The action of the advanced editor's button: an edit whose content is the raw JSON.
EDIT_JSON = "edit_json"


@dataclass(frozen=True)
class Choice:
    value: str
    text: str


@dataclass
class FormField:
    name: str
    label: str  # a message key
    widget: str  # "select" or "textarea"
    value: str
    choices: list[Choice] = field(default_factory=list)
    hint: str | None = None  # a message key


@dataclass
class ReviewForm:
    """What the decision form shows: the fields (none for kinds without a form), the raw JSON,
    the reason, and the problems by input name (``reason``, ``edited`` or a field's name)."""

    fields: list[FormField]
    raw: str
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


class FormProblems(InvalidInput):
    """The decision cannot be taken as submitted; ``problems`` says what to fix, by input."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("请按提示修改后再提交：" + "；".join(problems.values()))
        self.problems = problems


def proposal_json(task: ReviewTask) -> str:
    return json.dumps(task.proposal, ensure_ascii=False, indent=2)


def form_for(
    task: ReviewTask,
    submitted: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> ReviewForm:
    """The form for ``task``, filled with the proposal or with what was ``submitted``."""
    given = submitted or {}
    fields = _fields(task, load_rules())
    for f in fields:
        if f.name in given:
            f.value = given[f.name]
    raw = given["edited"] if given.get("edited") else proposal_json(task)
    return ReviewForm(fields, raw, given.get("reason", ""), errors or {})


def _fields(task: ReviewTask, rules: Rules) -> list[FormField]:
    proposal = task.proposal if isinstance(task.proposal, dict) else {}
    if task.kind == DISPATCH_REVIEW:
        return _dispatch_fields(proposal, rules)
    if task.kind == REPLY_REVIEW and isinstance(proposal.get("text"), str):
        text = FormField("text", "review.form.reply_text", "textarea", proposal["text"])
        text.hint = "review.form.reply_hint"
        return [text]
    return []


def _dispatch_fields(proposal: dict[str, Any], rules: Rules) -> list[FormField]:
    category = str(proposal.get("category") or "")
    unit = str(proposal.get("handling_unit") or "")
    categories = FormField("category", "field.category", "select", category,
                           _category_choices(proposal, rules))  # fmt: skip
    units = FormField("handling_unit", "field.handling_unit", "select", unit,
                      [Choice(u, u) for u in dispatch_units(proposal, rules)])  # fmt: skip
    units.hint = "review.form.unit_hint"
    return [categories, units]


def _category_choices(proposal: dict[str, Any], rules: Rules) -> list[Choice]:
    """The categories a decision may take (``decisions.dispatch_categories``), the model's
    candidates shown with their confidence."""
    shown: dict[str, str] = {}
    for candidate in proposal.get("candidates") or []:
        if isinstance(candidate, list | tuple) and len(candidate) == 2:
            name, score = str(candidate[0]), candidate[1]
            if isinstance(score, int | float):
                shown[name] = f"{name}（{float(score):.0%}）"
    return [Choice(name, shown.get(name, name)) for name in dispatch_categories(proposal, rules)]


@dataclass(frozen=True)
class Decision:
    action: str
    content: dict[str, Any] | None


def read_decision(task: ReviewTask, action: str, submitted: Mapping[str, str]) -> Decision:
    """The action and the edited content a submitted form asks for; ``FormProblems`` lists
    everything to fix at once. The reason rule is the review service's, checked here first so
    that its message can stand next to the reason box."""
    if task.status != "pending":  # the review service answers that it was decided already
        return Decision(_action(action), None)
    problems: dict[str, str] = {}
    if action in ("edit", EDIT_JSON, "reject") and not submitted.get("reason", "").strip():
        problems["reason"] = "修改或退回时须填写理由，说明为何不同意 AI 的建议"
    content = None
    if action == EDIT_JSON:
        content = _from_json(submitted.get("edited", ""), problems)
    elif action == "edit":
        content = _from_fields(task, submitted, problems)
    if not problems and _action(action) in ("accept", "edit", "reject"):
        found = review.decision_problems(task, _action(action), submitted.get("reason", ""),
                                         content)  # fmt: skip
        _place(found, _inputs(task, action), problems)
    if problems:
        raise FormProblems(problems)
    return Decision(_action(action), content)


def _inputs(task: ReviewTask, action: str) -> set[str]:
    """The inputs a problem can stand next to; the content's go to the JSON editor when the JSON
    was edited."""
    if action == EDIT_JSON:
        return {"reason"}
    return {"reason"} | {f.name for f in _fields(task, load_rules())}


def _place(found: list[review.Problem], inputs: set[str], problems: dict[str, str]) -> None:
    """The review service's problems next to the inputs they concern, or in the JSON editor's
    place with the field named."""
    for problem in found:
        if problem.field in inputs:
            problems.setdefault(problem.field, problem.message)
        else:
            problems["edited"] = "；".join(filter(None, [problems.get("edited"), str(problem)]))


def _action(action: str) -> str:
    return "edit" if action == EDIT_JSON else action


def _from_json(text: str, problems: dict[str, str]) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problems["edited"] = f"不是有效的 JSON：{exc.msg}（第 {exc.lineno} 行第 {exc.colno} 列）"
        return None
    if not isinstance(value, dict):
        problems["edited"] = '应为 JSON 对象，用花括号括起，例如 {"handling_unit": "…"}'
        return None
    return value


def _from_fields(
    task: ReviewTask, submitted: Mapping[str, str], problems: dict[str, str]
) -> dict[str, Any] | None:
    fields = {f.name: f for f in _fields(task, load_rules())}
    if not fields:
        problems["edited"] = "此类复核没有表单，请在“高级：直接修改 JSON”中修改后提交"
        return None
    if task.kind == DISPATCH_REVIEW:
        return _dispatch_content(task.proposal, fields, submitted, problems)
    return _reply_content(task.proposal, submitted, problems)


def _picked(f: FormField, submitted: Mapping[str, str], problems: dict[str, str]) -> str:
    value = submitted.get(f.name, "").strip()
    if value not in {c.value for c in f.choices}:
        problems[f.name] = f"请从列表中选择（收到“{value}”）" if value else "请从列表中选择"
    return value


def _dispatch_content(
    proposal: dict[str, Any],
    fields: dict[str, FormField],
    submitted: Mapping[str, str],
    problems: dict[str, str],
) -> dict[str, Any]:
    category = _picked(fields["category"], submitted, problems)
    unit = _picked(fields["handling_unit"], submitted, problems)
    proposed = (proposal.get("category"), proposal.get("handling_unit"))
    if not problems and (category, unit) == proposed:
        problems["category"] = "分类和承办单位都与 AI 建议相同；同意建议请点“采纳”"
    if category != proposed[0] and unit == proposed[1]:
        # Only the category changed: the unit follows the duty list, as the decision does
        # (``decisions._decided_dispatch``), so the recorded decision is what takes effect.
        unit = load_rules().handling_unit(category)
    return {"category": category, "handling_unit": unit}


def _reply_content(
    proposal: dict[str, Any], submitted: Mapping[str, str], problems: dict[str, str]
) -> dict[str, Any]:
    text = submitted.get("text", "").strip()
    if not text:
        problems["text"] = "答复内容不能为空"
    elif text == str(proposal.get("text", "")).strip():
        problems["text"] = "答复与 AI 草稿相同；同意草稿请点“采纳”"
    return {"text": text}
