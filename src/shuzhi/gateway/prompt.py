"""Prompt assembly that keeps the provider's prefix cache warm.

DeepSeek (and vLLM / SGLang with prefix caching) bill or serve a repeated prompt prefix cheaply,
but only a byte-identical prefix counts. So the stable parts come first and always in the same
order: the system prompt, the skills, the knowledge preamble; then the conversation; and the
parts that change per question (retrieved passages, today's date) go last, in the user's turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def assemble(
    *,
    system: str,
    skills: Sequence[str] = (),
    preamble: str = "",
    history: Sequence[dict[str, Any]] = (),
    question: str | None = None,
    context: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Messages with the stable prefix first.

    ``system``, ``skills`` and ``preamble`` form one system message that is identical from call
    to call; ``history`` follows with any reasoning removed; ``context`` (passages retrieved for
    this question) is put in front of ``question`` in the last user turn.
    """
    stable = [system.strip()]
    if skills:
        stable.append("可用技能：\n" + "\n".join(f"- {s.strip()}" for s in skills))
    if preamble.strip():
        stable.append(preamble.strip())
    messages: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(stable)}]
    messages += [without_reasoning(m) for m in history]
    if question is not None:
        messages.append({"role": "user", "content": _with_context(question, context)})
    return messages


def _with_context(question: str, context: Sequence[str]) -> str:
    if not context:
        return question
    passages = "\n\n".join(f"[{i}] {text.strip()}" for i, text in enumerate(context, 1))
    return f"参考资料：\n{passages}\n\n问题：{question}"


def without_reasoning(message: dict[str, Any]) -> dict[str, Any]:
    """The message without DeepSeek-R1's reasoning, which must not go back into a prompt."""
    return {k: v for k, v in message.items() if k not in ("reasoning_content", "reasoning")}
