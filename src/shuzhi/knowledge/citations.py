"""What a question cites: 刑法第二十条, 《劳动法》第四十四条, 第999条.

An answer must not offer another law's 第二十条 when the base lacks 刑法, nor the article
nearest in words when 劳动法 has no 第999条. This module reads the citations out of a question;
:meth:`shuzhi.knowledge.service.KnowledgeService.missing_citation` checks them against the bases.
It errs towards answering: a title it cannot tell from ordinary words (单位规定第三条, 《人民日报》)
is not a citation, and a shortened title whose characters a held text has in order (失业条例 for
失业保险条例) counts as held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shuzhi.cn.text import chinese_number
from shuzhi.knowledge.catalog import NATIONAL_PREFIX, short_title

MAX_ARTICLE_NO = 100_000  # more than any text has; keeps a typed number inside a database integer

ARTICLE_REF = re.compile(r"第([零〇一二两三四五六七八九十百千]+|\d+)条")
_MARKED = re.compile(r"《\s*([^《》]{1,40}?)\s*》")
# Where one title ends and the words before it begin: 社会保险法和刑法 → 刑法.
_BEFORE_TITLE = re.compile(r"[和与及、，,。；;：:！!？?\s（）()]|以及|或者|还有|对比")
_ASKING = re.compile(r"^(?:请问|请教|问一下|想问一下|我想问|想问|根据|按照|依照|依据|关于|查查)")
# A title read from plain words is taken for a citation only with one of these endings:
# 单位规定第三条 is the employer's rules, 失业条例 a law.
LAW_ENDINGS = ("法", "法典", "条例")


@dataclass(frozen=True)
class Citation:
    title: str | None  # as the question writes it, without 《》 and 中华人民共和国; None: no title
    article_no: int | None  # None: the text is cited without an article
    article_ref: str = ""  # the 第X条 as written
    marked: bool = False  # the title stood in 《》


def article_number(numeral: str) -> int | None:
    """第X条's number, at most :data:`MAX_ARTICLE_NO` (thousands of digits are refused by int())."""
    if numeral.isdigit() and len(numeral) > len(str(MAX_ARTICLE_NO)):
        return MAX_ARTICLE_NO
    number = chinese_number(numeral)
    return None if number is None else min(number, MAX_ARTICLE_NO)


def citations(text: str) -> list[Citation]:
    """Every 第X条 with the title right before it (if any), and every 《title》 cited alone."""
    found: list[Citation] = []
    cited_marks: set[int] = set()
    for ref in ARTICLE_REF.finditer(text):
        before = text[: ref.start()].rstrip()
        title: str | None
        last = _last_mark(before) if before.endswith("》") else None
        if last is not None:
            title, is_marked = last
            cited_marks.add(len(before))
        else:
            title, is_marked = _plain_title(before), False
        found.append(Citation(title, article_number(ref.group(1)), ref.group(0), is_marked))
    for marked in _MARKED.finditer(text):
        if marked.end() not in cited_marks:
            found.append(Citation(short_title(marked.group(1)), None, "", True))
    return found


def is_law_title(citation: Citation) -> bool:
    """Whether a title the catalogue does not know still reads as a law's: 刑法, 失业条例."""
    return bool(citation.title) and str(citation.title).endswith(LAW_ENDINGS)


def holds_in_order(title: str, held: str) -> bool:
    """Whether ``held`` has every character of ``title`` in order (失业条例 in 失业保险条例)."""
    rest = iter(held)
    return all(char in rest for char in title)


def _last_mark(before: str) -> tuple[str, bool] | None:
    """The 《title》 that ``before`` ends with."""
    marks = list(_MARKED.finditer(before))
    if not marks or marks[-1].end() != len(before):
        return None
    return short_title(marks[-1].group(1)), True


def _plain_title(before: str) -> str | None:
    words = _BEFORE_TITLE.split(before.replace(NATIONAL_PREFIX, ""))  # its 和 joins no titles
    last = _ASKING.sub("", words[-1] if words else "")
    title = short_title(last)
    return title or None
