"""Guardrails on what goes into and comes out of an employee.

The sensitive-word list runs on an Aho–Corasick automaton (pyahocorasick), so checking a message
costs time linear in its length whatever the list's size — tens of thousands of words included.
The Interim Measures for Generative AI Services (2023) Art. 14 ask a provider to stop and remove
unlawful output: output hits are blanked before anyone sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

DEFAULT_WORDS_FILE = Path(__file__).parent / "data" / "sensitive_words.txt"

# Phrases with which a user tries to override an employee's instructions. They are refused and
# logged; the structural defences (skill levels, identity bound from authentication) hold anyway.
_INJECTION = re.compile(
    r"忽略(之前|以上|上面|前面|先前)的?(所有)?(指令|规则|要求|设定|提示)"
    r"|(显示|输出|告诉我|泄露).{0,6}(系统提示词|系统指令|system prompt)"
    r"|你现在(是|扮演).{0,10}(管理员|开发者|不受限制)"
    r"|ignore (all |the )?(previous|above) (instructions|rules)"
    r"|reveal (your )?(system )?prompt",
    re.IGNORECASE,
)


class WordFilter:
    """Multi-pattern matching of a word list."""

    def __init__(self, words: set[str]) -> None:
        self.size = len(words)
        self.longest = max((len(w) for w in words), default=0)
        self._automaton = ahocorasick.Automaton()
        for word in words:
            self._automaton.add_word(word, word)
        if words:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Hits as (start, end, word); overlapping hits are all reported."""
        if not self.size:
            return []
        return [(end - len(w) + 1, end + 1, w) for end, w in self._automaton.iter(text)]

    def blank(self, text: str) -> str:
        chars = list(text)
        for start, end, _ in self.find(text):
            chars[start:end] = ["*"] * (end - start)
        return "".join(chars)


class StreamBlanker:
    """Blanks listed words in a streamed answer before any piece of them is shown.

    The last ``longest - 1`` characters are held back: a listed word may still be completed by
    the next delta. Any hit that reaches the unshown text starts within that window, so running
    the automaton on the window plus the new text finds it; the shown text equals
    ``WordFilter.blank`` of the whole answer.
    """

    def __init__(self, words: WordFilter) -> None:
        self.words = words
        self.text = ""
        self.shown = 0

    def feed(self, delta: str) -> str:
        self.text += delta
        keep = max(0, self.words.longest - 1)
        return self._emit(len(self.text) - keep)

    def flush(self) -> str:
        return self._emit(len(self.text))

    def _emit(self, upto: int) -> str:
        if upto <= self.shown:
            return ""
        start = max(0, self.shown - max(0, self.words.longest - 1))
        window = self.words.blank(self.text[start:])
        piece = window[self.shown - start : upto - start]
        self.shown = upto
        return piece


def read_words(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {w.strip() for w in lines if w.strip() and not w.startswith("#")}


@lru_cache(maxsize=16)
def word_filter(extra: tuple[str, ...] = (), path: str | None = None) -> WordFilter:
    words = read_words(DEFAULT_WORDS_FILE) | set(extra)
    if path:
        words |= read_words(Path(path))
    return WordFilter(words)


@dataclass
class Verdict:
    allowed: bool = True
    reason: str = ""
    hits: list[str] = field(default_factory=list)
    kind: str = ""


def check_input(
    text: str, words: WordFilter, out_of_scope: list[str], scope_description: str
) -> Verdict:
    hits = sorted({w for _, _, w in words.find(text)})
    if hits:
        return Verdict(
            False, "您的留言包含不当内容，无法受理。如有诉求请文明表述。", hits, "sensitive"
        )
    if _INJECTION.search(text):
        return Verdict(
            False, "抱歉，我不能执行这类要求。请直接说明您要办理或咨询的事项。", [], "injection"
        )
    topics = [t for t in out_of_scope if t and t in text]
    if topics:
        reason = f"抱歉，这个问题不在我的服务范围内。我负责：{scope_description}"
        return Verdict(False, reason, topics, "out_of_scope")
    return Verdict()


def check_output(text: str, words: WordFilter) -> str:
    return words.blank(text)
