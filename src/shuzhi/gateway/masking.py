"""Masking at the trust boundary: whole messages out, answers (also streamed ones) back in.

Detection and placeholders belong to :mod:`shuzhi.privacy`; this module only applies them to the
OpenAI message shapes and undoes them on an answer that arrives in pieces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shuzhi.privacy import Masker, Vault
from shuzhi.privacy.masking import _CLOSE_BRACKETS, _OPEN_BRACKETS

__all__ = ["MaskedMessages", "Masker", "StreamUnmasker", "Vault", "mask_messages"]


@dataclass
class MaskedMessages:
    messages: list[dict[str, Any]]
    vault: Vault
    count: int


def _mask_text(masker: Masker, text: str, vault: Vault) -> tuple[str, int]:
    masked, _ = masker.mask(text, vault)
    if masked == text:
        return text, 0
    return masked, sum(masked.count(placeholder) for placeholder in vault.values)


def _mask_content(masker: Masker, content: Any, vault: Vault) -> tuple[Any, int]:
    if isinstance(content, str):
        return _mask_text(masker, content, vault)
    if not isinstance(content, list):
        return content, 0
    parts, total = [], 0
    for part in content:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            text, count = _mask_text(masker, part["text"], vault)
            part, total = {**part, "text": text}, total + count
        parts.append(part)
    return parts, total


def _mask_tool_calls(masker: Masker, calls: list[dict[str, Any]], vault: Vault) -> tuple[Any, int]:
    masked, total = [], 0
    for call in calls:
        function = dict(call.get("function") or {})
        if isinstance(function.get("arguments"), str):
            function["arguments"], count = _mask_text(masker, function["arguments"], vault)
            total += count
        masked.append({**call, "function": function})
    return masked, total


def mask_messages(
    masker: Masker, messages: list[dict[str, Any]], vault: Vault | None
) -> MaskedMessages:
    """Mask every text a model would read: contents, text parts and tool-call arguments."""
    vault = vault if vault is not None else Vault()
    out, total = [], 0
    for message in messages:
        message = dict(message)
        message["content"], count = _mask_content(masker, message.get("content"), vault)
        total += count
        if message.get("tool_calls"):
            message["tool_calls"], count = _mask_tool_calls(masker, message["tool_calls"], vault)
            total += count
        out.append(message)
    return MaskedMessages(out, vault, total)


class StreamUnmasker:
    """Restores placeholders in text that arrives in pieces.

    A placeholder can be split across pieces (``〔手机`` then ``号1〕``), so text from the last
    unclosed opening bracket on is held back until it is closed or grows too long to be one.
    """

    def __init__(self, vault: Vault | None) -> None:
        self.vault = vault
        self._held = ""
        labels = vault.counters if vault is not None else {}
        self._max_hold = max((len(label) for label in labels), default=0) + 16

    @property
    def active(self) -> bool:
        return self.vault is not None and len(self.vault) > 0

    def feed(self, piece: str) -> str:
        if not self.active:
            return piece
        text = self._held + piece
        cut = _last_open_bracket(text)
        if cut is not None and len(text) - cut <= self._max_hold:
            text, self._held = text[:cut], text[cut:]
        else:
            self._held = ""
        return self._unmask(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._unmask(text)

    def _unmask(self, text: str) -> str:
        return self.vault.unmask(text) if self.vault is not None and text else text


def _last_open_bracket(text: str) -> int | None:
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in _CLOSE_BRACKETS:
            return None
        if char in _OPEN_BRACKETS:
            return index
    return None


def unmask(vault: Vault | None, text: str | None) -> str | None:
    if text is None or vault is None or len(vault) == 0:
        return text
    return vault.unmask(text)
