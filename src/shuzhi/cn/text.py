"""Chinese text: clean-up of scraped text, word segmentation, stopwords, Chinese numerals."""

from __future__ import annotations

import re

import rjieba

__all__ = [
    "STOPWORDS",
    "chinese_number",
    "clean_text",
    "segment",
    "segment_for_search",
    "tag",
]

# Zero-width characters and the byte-order mark turn up inside copied and scraped text.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK_RE = re.compile("\r\n?|[\u2028\u2029\x85]")
# Every kind of whitespace except the line break: tabs, full-width and no-break spaces...
_HSPACE_RE = re.compile(r"[^\S\n]+")


def clean_text(s: str) -> str:
    """Tidy scraped or pasted text without changing what it says.

    CRLF and CR become ``\\n``; zero-width characters and control characters go; runs of spaces,
    tabs and full-width spaces become one space; each line is trimmed and blank lines are dropped,
    so paragraphs are separated by a single ``\\n``. Full-width punctuation is kept as written.
    """
    text = _LINE_BREAK_RE.sub("\n", s)
    text = _INVISIBLE_RE.sub("", text)
    text = _CONTROL_RE.sub("", text)
    lines = (_HSPACE_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# A token is a word when it holds a letter or a digit of any script (not punctuation or space).
_WORD_CHAR = re.compile(r"[^\W_]")


def segment(text: str) -> list[str]:
    """Words of ``text`` (rjieba precise mode), without whitespace or punctuation tokens."""
    return [t for t in rjieba.cut(text) if _WORD_CHAR.search(t)]


def tag(text: str) -> list[tuple[str, str]]:
    """The tokens of ``text`` with their part of speech (jieba's tags: ``n`` noun, ``ns`` place,
    ``v`` verb, ``c`` conjunction, ``d`` adverb, ``x`` punctuation …). The words are those of
    :func:`segment`; whitespace and punctuation are kept, so phrases can be told apart."""
    tagged: list[tuple[str, str]] = rjieba.tag(text)
    return tagged


def segment_for_search(text: str) -> list[str]:
    """Finer segmentation for indexing: rjieba search mode also emits the short words inside
    long ones (济南市 → 济南, 南市, 济南市)."""
    return [t for t in rjieba.cut_for_search(text) if _WORD_CHAR.search(t)]


_STOPWORD_TEXT = """
的 地 得 了 着 过 吗 呢 吧 啊 呀 嘛 哦 哈 么 之 乎 者 也 矣 焉 哉
和 与 及 以及 或 或者 并 并且 而 而且 但 但是 然而 可是 不过 只是 因为 所以 因此 因而 于是
如果 假如 要是 即使 虽然 尽管 无论 不论 不管 只要 只有 除非 既然 以便 以免 从而 进而 然后 接着
在 于 从 自 自从 向 往 到 对 对于 关于 由 由于 被 把 给 让 将 以 按 按照 依照 根据 通过 经过 为 为了
跟 同 比 就 才 都 也 还 又 再 更 最 很 太 非常 十分 极 已 已经 曾 曾经 正在 将要 刚 刚刚 总是 一直
不 没 没有 无 非 别 未 是 有 会 能 可 可以 要 应 应该 应当 需要 得以 能够
我 我们 你 你们 您 他 他们 她 她们 它 它们 自己 大家 咱们 人家 别人 其 其他 其它 其中 其余
这 这个 这些 这里 这样 这么 这种 那 那个 那些 那里 那样 那么 那种 哪 哪个 哪些 哪里 什么 怎么 怎样
怎么样 如何 为什么 多少 几 谁 每 每个 各 各个 各种 某 某个 某些 一些 一切 所有 任何 本 该 此 彼
个 一 一个 一种 一样 一下 一般 一起 一边 上 下 中 内 外 里 前 后 之前 之后
以上 以下 以内 以外 之间 之中
等 等等 呀 啦 嗯 哎 唉 喂 即 即便 则 乃 且 若 如 如同 似的 一样 般 来 去 起来 下去 出来
的话 来说 而言 来讲 看来 可能 也许 或许 大概 比较 相当 特别 尤其 只 仅 仅仅 几乎 甚至 简直
"""

STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_NUMERAL_RE = re.compile(
    "[0-9]+|[" + "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS) + "]+"
)


def chinese_number(s: str) -> int | None:
    """The first number in ``s``, written in Chinese or Arabic numerals.

    ``第二十三条`` → 23, ``一百零五`` → 105, ``十`` → 10, ``二〇二四年`` → 2024, ``第12条`` → 12.
    None when ``s`` holds no numeral.
    """
    match = _NUMERAL_RE.search(s or "")
    if match is None:
        return None
    token = match.group()
    if token.isascii():
        return int(token)
    if not any(ch in _SMALL_UNITS or ch in _BIG_UNITS for ch in token):
        # Digit-by-digit form, as in years: 二〇二四.
        return int("".join(str(_DIGITS[ch]) for ch in token))
    return _with_units(token)


def _with_units(token: str) -> int:
    total = 0  # everything above the current big unit, already scaled
    section = 0  # the part below 万 / 亿 being built
    digit: int | None = None
    for ch in token:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            # A bare 十 at the start means 一十.
            section += (1 if digit is None else digit) * _SMALL_UNITS[ch]
            digit = None
        else:
            unit = _BIG_UNITS[ch]
            section += digit or 0
            total = (total + section) * unit if unit > 10_000 else total + section * unit
            section, digit = 0, None
    return total + section + (digit or 0)
