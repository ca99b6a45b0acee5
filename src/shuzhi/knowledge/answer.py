"""Answers grounded in retrieved passages.

With a model (through the gateway) the answer is written by the model from numbered passages and
every sentence must cite one ``[n]``; an answer that cites nothing, or cites passages that were not
given, is not shown as a model answer. Without a model, or when the model fails, the answer is the
cited passages themselves, labelled as extracted (Government LLM deployment guidance 2025: control
hallucination; answers grounded in cited sources).

Citizens ask in their own words (养伤期间工资谁发), the law uses its own (停工留薪期), and a
full-text index cannot bridge that. With a model, the question is first rewritten into up to
:data:`MAX_REWRITES` search phrasings in the texts' terms; the question and each rewrite are
searched and the lists fused by reciprocal rank, so a rewrite can add passages but the
question's own best matches stay. The rewrites are kept on the answer (what was searched is part
of its record). A failing model, or one that answers with nothing usable, leaves the question's
own search.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Protocol

from shuzhi.aigc import Mode
from shuzhi.errors import ModelError
from shuzhi.gateway.types import Caller, ChatRequest, ChatResult
from shuzhi.knowledge._text import segment_query
from shuzhi.knowledge.dense import rrf
from shuzhi.knowledge.model import Answer, Grade, Passage

if TYPE_CHECKING:
    from shuzhi.knowledge.service import KbRef, KnowledgeService

log = logging.getLogger(__name__)

MIN_COVERAGE = 0.4
NO_SUPPORT = "知识库中没有找到能够支持回答的依据，无法作答。建议换一种问法，或转人工咨询。"
NO_ANSWER_MARK = "无法回答"
EXTRACT_HEAD = "【知识库摘录】以下为与问题最相关的原文（系统检索整理，未经大模型生成）："
CITE = re.compile(r"\[(\d+)\]")
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")

SYSTEM_PROMPT = (
    "你是政府部门的知识库问答助手。只能依据用户给出的编号资料回答，不得使用资料以外的知识。"
    "每一句话末尾用 [编号] 标明依据的资料，例如：工伤认定决定应在60日内作出[1]。"
    f"如果资料不足以回答，只回复“{NO_ANSWER_MARK}”。用简洁的中文回答。"
)


MAX_REWRITES = 3
MAX_REWRITE_CHARS = 60
REWRITE_PROMPT = (
    "你是政府法规检索助手。把市民的问题改写成法律法规、政策文件中会出现的正式用语，"
    f"用于全文检索。给出 1 到 {MAX_REWRITES} 个检索语句，每行一个，不要编号，不要解释，"
    "不要回答问题。如果问题提到某部法规或某个地方，保留它。"
)
_NUMBERING = re.compile(r"^\s*(?:[-*•·]|\d+[.、)）]|[（(]\d+[)）])\s*")


class ChatGateway(Protocol):
    """What ``ask`` needs from :class:`shuzhi.gateway.Gateway`: one blocking chat call."""

    def chat_sync(self, request: ChatRequest) -> ChatResult: ...


def ask(
    service: KnowledgeService,
    kbs: KbRef | Sequence[KbRef],
    question: str,
    gateway: ChatGateway | None = None,
    citation_required: bool = True,
    *,
    k: int = 5,
    grades: Collection[Grade | str] | None = None,
    departments: Collection[int] | None = None,
    model: str | None = None,
) -> Answer:
    """Answer ``question`` from the bases ``kbs``; see the module docstring for the two modes.

    A question citing a text the bases lack, or an article past a text's end, is told so
    (unsupported) rather than answered with another article of the same number.
    """
    missing = service.missing_citation(kbs, question, grades=grades, departments=departments)
    if missing:
        return Answer(f"{missing}。", [], Mode.OFFLINE, supported=False)
    rewrites = rewrite_question(gateway, question, model) if gateway is not None else []
    passages = search_all(
        service, kbs, [question, *rewrites], k=k, grades=grades, departments=departments
    )
    supported = any(is_supported(q, passages) for q in [question, *rewrites])
    if citation_required and not supported:
        return Answer(NO_SUPPORT, [], Mode.OFFLINE, supported=False, rewrites=rewrites)
    if gateway is None:
        return extract(passages, supported)
    try:
        result = _model_answer(gateway, question, passages, citation_required, model)
    except ModelError as exc:
        log.warning("knowledge answer falls back to extracts: %s", exc.code)
        result = extract(passages, supported)
    result.rewrites = rewrites
    return result


def rewrite_question(gateway: ChatGateway, question: str, model: str | None = None) -> list[str]:
    """Up to :data:`MAX_REWRITES` search phrasings of ``question`` in the texts' own terms, by
    the model; [] when the model fails or gives nothing usable (the question alone is searched)."""
    request = ChatRequest(
        messages=[
            {"role": "system", "content": REWRITE_PROMPT},
            {"role": "user", "content": question},
        ],
        model=model,
        temperature=0.0,
        caller=Caller(kind="system", id="knowledge"),
    )
    try:
        content = gateway.chat_sync(request).content or ""
    except ModelError as exc:
        log.warning("question rewriting skipped: %s", exc.code)
        return []
    found: list[str] = []
    for line in content.splitlines():
        text = _NUMBERING.sub("", line).strip().strip("“”\"'")
        if text and len(text) <= MAX_REWRITE_CHARS and text != question and text not in found:
            found.append(text)
    return found[:MAX_REWRITES]


def search_all(
    service: KnowledgeService,
    kbs: KbRef | Sequence[KbRef],
    queries: Sequence[str],
    *,
    k: int = 5,
    grades: Collection[Grade | str] | None = None,
    departments: Collection[int] | None = None,
) -> list[Passage]:
    """The top ``k`` passages of several phrasings of one question, fused by reciprocal rank
    (the first phrasing, the question itself, wins ties)."""
    if len(queries) == 1:
        return service.search(kbs, queries[0], k=k, grades=grades, departments=departments)
    depth = max(k, 10)
    lists = [
        service.search(kbs, q, k=depth, grades=grades, departments=departments) for q in queries
    ]
    by_key = {(p.document_id, p.chunk_id): p for found in reversed(lists) for p in found}
    ranked = [[(p.document_id, p.chunk_id) for p in found] for found in lists]
    weights = [1.0 + 1e-6] + [1.0] * (len(lists) - 1)
    return [by_key[key] for key, _ in rrf(*ranked, weights=weights)[: max(1, k)]]


def is_supported(question: str, passages: Sequence[Passage]) -> bool:
    """True when some passage contains enough of the question's words to be worth citing."""
    words = segment_query(question)
    if not passages or not words:
        return False
    best = max(_coverage(words, p) for p in passages)
    return best >= MIN_COVERAGE


def _coverage(words: list[str], passage: Passage) -> float:
    haystack = f"{passage.document_title}{passage.text}".lower()
    return sum(1 for w in words if w in haystack) / len(words)


def extract(passages: Sequence[Passage], supported: bool = True) -> Answer:
    """The offline answer: the passages themselves with their citations."""
    if not passages:
        return Answer(NO_SUPPORT, [], Mode.OFFLINE, supported=False)
    blocks = [f"[{i}] {p.citation}\n{p.text}" for i, p in enumerate(passages, start=1)]
    text = EXTRACT_HEAD + "\n\n" + "\n\n".join(blocks)
    return Answer(text, list(passages), Mode.OFFLINE, supported=supported)


def _model_answer(
    gateway: ChatGateway,
    question: str,
    passages: Sequence[Passage],
    citation_required: bool,
    model: str | None,
) -> Answer:
    request = ChatRequest(
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _prompt(question, passages)},
        ],
        model=model,
        temperature=0.1,
        caller=Caller(kind="system", id="knowledge"),
    )
    result = gateway.chat_sync(request)
    content = (result.content or "").strip()
    if NO_ANSWER_MARK in content[:20]:
        return Answer(NO_SUPPORT, [], Mode.MODEL, supported=False, model=result.model)
    cited = _cited(content, len(passages))
    if citation_required and not _every_sentence_cited(content, len(passages)):
        log.warning("model answer lacks citations; showing extracts instead")
        return extract(passages)
    used = [passages[i - 1] for i in sorted(cited)] or list(passages)
    return Answer(content, used, Mode.MODEL, supported=bool(cited), model=result.model)


def _prompt(question: str, passages: Sequence[Passage]) -> str:
    sources = "\n\n".join(f"[{i}] {p.citation}\n{p.text}" for i, p in enumerate(passages, start=1))
    return f"资料：\n{sources}\n\n问题：{question}"


def _cited(text: str, count: int) -> set[int]:
    return {int(n) for n in CITE.findall(text) if 1 <= int(n) <= count}


def _every_sentence_cited(text: str, count: int) -> bool:
    sentences = [s.strip() for s in SENTENCE.findall(text) if len(s.strip()) > 4]
    if not sentences:
        return False
    for sentence in sentences:
        numbers = [int(n) for n in CITE.findall(sentence)]
        if not numbers or any(not 1 <= n <= count for n in numbers):
            return False
    return True
