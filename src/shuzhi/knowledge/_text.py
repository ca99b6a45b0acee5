"""Text helpers the knowledge package needs on top of :mod:`shuzhi.cn.text`."""

from __future__ import annotations

import re

import rjieba

from shuzhi.cn.encoding import decode_bytes
from shuzhi.cn.text import STOPWORDS

# Same filter as shuzhi.cn.text.segment_for_search, as one regex: the per-character check there
# costs more than the segmentation itself over a 150,000-chunk import.
_WORD = re.compile(r"[^\W_]")
_ODD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ue000-\uf8ff]")

# Words citizens put around a question that say nothing about the subject.
QUESTION_WORDS = frozenset(
    [
        "请问",
        "问",
        "问一下",
        "想",
        "想问",
        "知道",
        "吗",
        "多久",
        "多长",
        "时间",
        "规定",
        "哪条",
        "哪一条",
        "条款",
        "法律",
        "法规",
        "怎么办",
        "是否",
        "能否",
        "能不能",
        "可不可以",
        "要不要",
        "有没有",
        "情况",
        "时候",
        "的话",
        "呢",
        "呀",
    ]
)


def segment_for_search(text: str) -> list[str]:
    """Words of ``text`` in rjieba's search mode, without whitespace and punctuation."""
    return [t for t in rjieba.cut_for_search(text) if _WORD.search(t)]


def segment_for_index(text: str) -> list[str]:
    """Fine-grained, lower-cased words for the index (search mode adds parts of compounds)."""
    return [t.lower() for t in segment_for_search(text)]


# "自受理之日起二十日内", "十五个工作日内", "三个月以内": a deadline. Segmentation cuts these into
# 二十日 / 内, so no word links them to a question like "多久" or "几天"; a marker word does.
DEADLINE = re.compile(
    r"[零〇一二两三四五六七八九十百\d]+个?(?:工作)?(?:日|天|月|年|小时)(?:内|以内|之内)"
)
DEADLINE_WORD = "期限"


def index_text(text: str) -> str:
    """The text as space-separated lower-case words, ready for a whitespace tokenizer.

    Punctuation tokens are left in: they cost a few index terms but filtering 2 million tokens
    one by one in Python would double the import time, and no query ever contains them.
    """
    words = " ".join(rjieba.cut_for_search(text.lower()))
    return f"{words} {DEADLINE_WORD}" if DEADLINE.search(text) else words


def decode(data: bytes) -> str:
    """Clean UTF-8 (with or without BOM) directly; anything else through cn.encoding."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(data)[0]
    return decode_bytes(data)[0] if _ODD.search(text) else text


def segment_query(text: str) -> list[str]:
    """Words of a question without stopwords, in order, each once."""
    seen: dict[str, None] = {}
    for token in segment_for_search(text):
        token = token.lower()
        if token not in STOPWORDS and token not in QUESTION_WORDS:
            seen.setdefault(token, None)
    return list(seen)


def word_bounds(text: str) -> set[int]:
    """Offsets in ``text`` where a word starts or ends, by rjieba's dictionary alone.

    Without the HMM: it joins characters no dictionary knows into guessed words (我想告他 →
    我想告 / 他), which would hide a key inside a word nobody writes.
    """
    bounds = {0, len(text)}
    for _, start, end in rjieba.tokenize(text, hmm=False):
        bounds.update((start, end))
    return bounds


def to_chinese_number(value: int) -> str:
    """23 → ``二十三``, 105 → ``一百零五``, 10 → ``十`` (the way article numbers are written)."""
    digits = "零一二三四五六七八九"
    if value < 10:
        return digits[value]
    parts: list[str] = []
    for unit, name in ((1000, "千"), (100, "百"), (10, "十")):
        count, value = divmod(value, unit)
        if count:
            parts.append(("" if unit == 10 and not parts and count == 1 else digits[count]) + name)
        elif parts and value:
            parts.append("零")
    if value:
        parts.append(digits[value])
    return re.sub("零+", "零", "".join(parts))
