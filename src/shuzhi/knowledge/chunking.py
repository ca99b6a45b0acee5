"""Cut documents into passages.

Legal texts are cut by article (``第X条``), keeping the article as the citation anchor and the
book/chapter/section headings (``第X编/章/节``) as the heading path. Other documents are cut by
headings, then by paragraphs grouped up to a size limit, so a passage is long enough to answer
and short enough to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from shuzhi.cn.text import chinese_number
from shuzhi.knowledge.model import ChunkDraft

NUM = "零〇一二两三四五六七八九十百千"
ARTICLE = re.compile(rf"^\s*第([{NUM}]+|\d+)条(之[{NUM}]+)?(?:[\s　:：]|$)")
DIVISION = re.compile(rf"^\s*第[{NUM}\d]+(编|分编|章|节)(?:[\s　]|$)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
DIVISION_LEVEL = {"编": 1, "分编": 2, "章": 3, "节": 4}
TARGET_CHARS = 600
MAX_CHARS = 1000
SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def is_legal_text(body: str) -> bool:
    """True when the text is organised in articles (at least two ``第X条`` lines)."""
    count = 0
    for line in body.splitlines():
        if ARTICLE.match(line):
            count += 1
            if count >= 2:
                return True
    return False


def split_document(body: str, *, legal: bool | None = None) -> list[ChunkDraft]:
    if legal is None:
        legal = is_legal_text(body)
    chunks = _split_legal(body) if legal else _split_sections(body)
    return [c for c in chunks if c.text.strip()]


class _Headings:
    """The current heading path, from Markdown ``#`` levels or 第X章-style division lines."""

    def __init__(self) -> None:
        self.levels: dict[int, str] = {}

    def feed(self, line: str) -> bool:
        match = HEADING.match(line)
        if match:
            self._set(len(match.group(1)), match.group(2))
            return True
        division = DIVISION.match(line)
        if division and len(line.strip()) <= 40:
            self._set(DIVISION_LEVEL[division.group(1)] + 10, line.strip())
            return True
        return False

    def _set(self, level: int, text: str) -> None:
        self.levels = {k: v for k, v in self.levels.items() if k < level}
        self.levels[level] = re.sub(r"\s+", " ", text).strip()

    @property
    def path(self) -> list[str]:
        return [self.levels[k] for k in sorted(self.levels)]


def _split_legal(body: str) -> list[ChunkDraft]:
    headings = _Headings()
    chunks: list[ChunkDraft] = []
    preamble: list[str] = []
    current: ChunkDraft | None = None
    for line in body.splitlines():
        if headings.feed(line):
            current = None
            continue
        article = ARTICLE.match(line)
        if article:
            current = _article(article, line, headings.path)
            chunks.append(current)
        elif current is not None and line.strip():
            current.text += "\n" + line.strip()
        elif line.strip():
            preamble.append(line)
    intro = _split_sections("\n".join(preamble)) if preamble else []
    return intro + [_tidy(c) for c in chunks]


def _article(match: re.Match[str], line: str, path: list[str]) -> ChunkDraft:
    number, suffix = match.group(1), match.group(2) or ""
    return ChunkDraft(
        text=line.strip(),
        heading_path=list(path),
        anchor=f"第{number}条{suffix}",
        article_no=chinese_number(number),
    )


def _tidy(chunk: ChunkDraft) -> ChunkDraft:
    chunk.text = chunk.text.strip()
    return chunk


def _split_sections(body: str) -> list[ChunkDraft]:
    headings = _Headings()
    chunks: list[ChunkDraft] = []
    paragraphs: list[str] = []
    path: list[str] = []
    for line in body.splitlines():
        if headings.feed(line):
            chunks.extend(_pack(paragraphs, path))
            paragraphs, path = [], headings.path
        elif line.strip():
            paragraphs.append(line.strip())
    chunks.extend(_pack(paragraphs, path))
    return chunks


def _pack(paragraphs: list[str], path: list[str]) -> Iterator[ChunkDraft]:
    """Group paragraphs into passages of about TARGET_CHARS, never above MAX_CHARS."""
    buffer = ""
    for piece in (p for para in paragraphs for p in _pieces(para)):
        if buffer and len(buffer) + len(piece) > TARGET_CHARS:
            yield ChunkDraft(text=buffer, heading_path=list(path))
            buffer = ""
        buffer = f"{buffer}\n{piece}" if buffer else piece
    if buffer:
        yield ChunkDraft(text=buffer, heading_path=list(path))


def _pieces(paragraph: str) -> Iterator[str]:
    """A paragraph, or its sentences grouped under MAX_CHARS when it is longer."""
    if len(paragraph) <= MAX_CHARS:
        yield paragraph
        return
    buffer = ""
    for sentence in SENTENCE_END.split(paragraph):
        while len(sentence) > MAX_CHARS:  # no sentence end at all: cut hard
            yield sentence[:MAX_CHARS]
            sentence = sentence[MAX_CHARS:]
        if len(buffer) + len(sentence) > MAX_CHARS:
            yield buffer
            buffer = ""
        buffer += sentence
    if buffer:
        yield buffer
