"""Reply drafting and the reply quality check.

A draft answers each demand of the message in the handling unit's voice and cites the rules that
apply. Offline it is a template with the demands laid out and the cited passages attached (the
handler fills in the facts); with a model endpoint the model writes the draft from the same
material. Either way it is a proposal pending a named person's approval: a reply speaks for a
government unit (regulation Art. 24, Art. 40(3): a reply must match what was really done).

The quality check reads a message and a reply and flags a reply that misses a demand, promises
nothing concrete, or came after the deadline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from shuzhi.aigc import Mode, visible_label
from shuzhi.cn.calendar import default_calendar
from shuzhi.cn.text import STOPWORDS
from shuzhi.errors import ModelError
from shuzhi.scenarios.hotline._base import segment
from shuzhi.scenarios.hotline.extract import extract_demands
from shuzhi.scenarios.hotline.importing import BEIJING
from shuzhi.scenarios.hotline.rules import Rules

log = logging.getLogger(__name__)

PENDING = "pending_approval"
# What the handler must still write: the offline template leaves FILL_IN after each demand, and a
# model is told to mark a fact it cannot know with TO_VERIFY. Neither may reach a citizen.
FILL_IN = "【请填写核实情况、处理结果或解决措施，并写明完成时限】"
TO_VERIFY = "【待核实】"
PLACEHOLDERS = (FILL_IN, TO_VERIFY)
# Searches a knowledge base for passages about a message: returns (citation, text) pairs.
PassageSearch = Callable[[str], Sequence[tuple[str, str]]]


@dataclass
class ReplyDraft:
    text: str
    mode: str
    model: str | None
    sources: list[dict[str, str]]
    demands: list[str]
    status: str = PENDING
    decided_by: str = "ai"

    @property
    def labelled_text(self) -> str:
        return f"{visible_label(self.mode)}\n\n{self.text}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rule_sources(rules: Rules, order_type: str) -> list[dict[str, str]]:
    keys = ["reply_deadline", "right_to_know"]
    if order_type in ("complaint", "report"):
        keys.append("confidentiality")
    sources = []
    for key in keys:
        cite = rules.file.citations.get(key)
        if cite:
            citation = f"《{rules.file.title}》{cite.article}"
            sources.append({"citation": citation, "text": cite.summary, "kind": "rule"})
    return sources


def draft_reply(
    *,
    title: str,
    text: str,
    requester: str | None,
    handling_unit: str,
    order_type: str,
    rules: Rules,
    search: PassageSearch | None = None,
    writer: Callable[[str], tuple[str, str]] | None = None,
) -> ReplyDraft:
    """A draft reply. ``writer`` (prompt → (text, model name)) is the model; None is offline."""
    demands = extract_demands(text) or [title or text[:60]]
    sources = _rule_sources(rules, order_type)
    if search is not None:
        found = search(f"{title} {text[:200]}")
        sources += [{"citation": c, "text": t[:300], "kind": "passage"} for c, t in found[:3]]
    if writer is not None:
        written = _model_draft(writer, title, text, handling_unit, demands, sources)
        if written is not None:
            return ReplyDraft(written[0], Mode.MODEL.value, written[1], sources, demands)
    body = _template(title, requester, handling_unit, demands, sources)
    return ReplyDraft(body, Mode.OFFLINE.value, None, sources, demands)


def _template(
    title: str,
    requester: str | None,
    unit: str,
    demands: Sequence[str],
    sources: Sequence[dict[str, str]],
) -> str:
    greeting = f"网友“{requester}”：您好！" if requester else "您好！"
    subject = f"“{title}”" if title else "的问题"
    lines = [f"{greeting}您反映{subject}已收悉。{unit}高度重视，现就您提出的诉求答复如下："]
    for number, demand in enumerate(demands, start=1):
        lines.append(f"{number}. 关于“{demand}”：{FILL_IN}")
    cited = "；".join(s["citation"] for s in sources)
    lines.append(
        f"如法定办理时限超过五个工作日或暂时无法解决，将向您告知办理进度、解决措施及明确时限"
        f"（依据：{cited}）。"
    )
    lines.append(f"感谢您对我们工作的关心和支持！\n{unit}")
    return "\n".join(lines)


# -- unfilled placeholders -------------------------------------------------------------------

_CLAUSE_BREAK = re.compile(r"[、，,；;：:。]")
_SPAN = re.compile(r"【[^【】]*】")
_SENTENCE_BREAK = re.compile(r"[\s、，,；;：:。！!？?]")
# A placeholder's clause this long is never a reply's own wording ("待核实" alone may well be).
_MIN_CLAUSE = 4


def _pairs(text: str) -> set[str]:
    """The character pairs of ``text``'s clauses (no pair straddles a punctuation mark)."""
    return {c[i : i + 2] for c in _CLAUSE_BREAK.split(text) for i in range(len(c) - 1)}


def unfilled_placeholder(text: str) -> str | None:
    """The first trace of a placeholder (``PLACEHOLDERS``) left in ``text``, else None.

    A trace is a clause of one (``并写明完成时限``), a 【…】 span that shares wording with one
    (``【处理结果】``), or a lone bracket: what is left when half of a placeholder is deleted.
    """
    whole = [p for p in PLACEHOLDERS if p in text]
    if whole:
        return whole[0]
    inners = [p.strip("【】") for p in PLACEHOLDERS]
    wording = set().union(*(_pairs(inner) for inner in inners))
    for span in _SPAN.finditer(text):
        if _pairs(span.group()[1:-1]) & wording:
            return span.group()
    for inner in inners:
        for clause in _CLAUSE_BREAK.split(inner):
            if len(clause) >= _MIN_CLAUSE and clause in text:
                return clause
    return _lone_bracket(_SPAN.sub(lambda m: " " * len(m.group()), text))


def _lone_bracket(text: str) -> str | None:
    """A bracket without its pair, with the words on its open side up to the sentence's edge."""
    opening, closing = text.find("【"), text.find("】")
    if opening >= 0:
        return _SENTENCE_BREAK.split(text[opening : opening + 12])[0]
    if closing >= 0:
        return _SENTENCE_BREAK.split(text[max(0, closing - 11) : closing + 1])[-1]
    return None


def _model_draft(
    writer: Callable[[str], tuple[str, str]],
    title: str,
    text: str,
    unit: str,
    demands: Sequence[str],
    sources: Sequence[dict[str, str]],
) -> tuple[str, str] | None:
    cited = "\n".join(f"- {s['citation']}：{s['text']}" for s in sources)
    asks = "\n".join(f"- {d}" for d in demands)
    prompt = (
        f"请以{unit}的口吻起草对市民留言的答复。逐条回应每项诉求；不确定的事实用{TO_VERIFY}标出，"
        f"不得编造办理结果；引用下列依据时写明出处。\n\n依据：\n{cited}\n\n诉求：\n{asks}\n\n"
        f"留言标题：{title}\n留言内容：{text[:1500]}"
    )
    try:
        return writer(prompt)
    except ModelError as exc:
        log.warning("hotline reply draft by model failed, using the template: %s", exc.code)
        return None


# -- quality check ---------------------------------------------------------------------------

_CONCRETE = re.compile(
    r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d+个?(?:工作日|日|天|周|个月)内|年底前|月底前|"
    r"(?:已|已经)(?:完成|整改|修复|恢复|拆除|清理|安排|责令|立案|办理|解决|处理|发放|退还|到位|开工|施工|"
    r"约谈|处罚|查处|疏通|更换|维修|下达)|将于|计划于|预计|(?:电话|联系方式)[:：]?\s*\d{3,}"
)
_VAGUE = re.compile(r"高度重视|加强|研究|协调|积极|关注|进一步|适时|尽快|督促")
_NO_TERM = set("的了在是我们你您他她它这那和与及或")
# Words every request uses; they say nothing about whether its matter was answered.
_GENERIC = {
    "有关",
    "相关",
    "部门",
    "政府",
    "领导",
    "希望",
    "请求",
    "要求",
    "解决",
    "问题",
    "处理",
    "请问",
    "能否",
    "是否",
    "尽快",
    "恳请",
    "建议",
    "什么",
    "怎么",
    "为什么",
    "如何",
    "谢谢",
}
_CLAUSE = re.compile(r"[，,：:]")
_ASK = re.compile(
    r"希望|请|要求|恳|建议|能否|能不能|可否|是否|何时|什么时候|怎么|如何|为什么|为何|[?？]"
)


@dataclass
class ReplyCheck:
    missed_demands: list[str] = field(default_factory=list)
    no_commitment: bool = False
    late: bool = False
    working_days_taken: int | None = None
    allowed_working_days: int = 5
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        found = []
        if self.missed_demands:
            found.append("missed_demand")
        if self.no_commitment:
            found.append("no_commitment")
        if self.late:
            found.append("late")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flags": self.flags}


def _terms(text: str) -> set[str]:
    return {
        w
        for w in segment(text)
        if len(w) > 1 and w not in STOPWORDS and w not in _GENERIC and w[0] not in _NO_TERM
    }


def _ask_clause(demand: str) -> str:
    """The clause of a demand sentence that carries the ask, with the clause before it."""
    clauses = [c for c in _CLAUSE.split(demand) if c.strip()]
    for i, clause in enumerate(clauses):
        if _ASK.search(clause):
            return "，".join(clauses[max(0, i - 1) : i + 1])
    return demand


_WHEN = re.compile(r"什么时候|何时|多久|多长时间|哪天")
_DATE = re.compile(
    r"\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d+个?(?:工作日|日|天|周|个月)内|年底|月底"
)


def _covered(demand: str, reply: str, reply_terms: set[str]) -> bool:
    if _WHEN.search(demand) and _DATE.search(reply):
        return True  # a question of "when" is answered by a date
    terms = _terms(_ask_clause(demand))
    if not terms:
        return True
    return len(terms & reply_terms) / len(terms) >= 0.25


def check_reply(
    message: str,
    reply: str,
    *,
    rules: Rules,
    received_at: datetime | None = None,
    replied_at: datetime | None = None,
) -> ReplyCheck:
    """Flags for a reply: demands it does not touch, no concrete commitment, past the deadline."""
    reply_terms = _terms(reply)
    check = ReplyCheck(allowed_working_days=rules.file.deadlines.default.working_days)
    # Only explicit asks count: a sentence that merely mentions 解决 or 处理 states a grievance.
    asks = [d for d in extract_demands(message, limit=8) if _ASK.search(d)]
    check.missed_demands = [d for d in asks if not _covered(d, reply, reply_terms)]
    check.no_commitment = not _CONCRETE.search(reply)
    if check.no_commitment and _VAGUE.search(reply):
        check.notes.append("只有“高度重视、加强、协调”等表态，没有时间、措施或结果")
    if received_at and replied_at:
        start, end = received_at.astimezone(BEIJING).date(), replied_at.astimezone(BEIJING).date()
        taken = default_calendar().working_days_between(start, end)
        check.working_days_taken = taken
        check.late = taken > check.allowed_working_days
    return check
