"""From a question and raw full-text hits to ranked passages a government user expects.

Plain BM25 over the shared law corpus often answers a Jinan question with another city's
regulation, or with a superseded version of the right law. On top of the text score this module
applies, in order: the newest version of each law (unless asked otherwise), a boost for a law the
question names, the jurisdiction weight (national and home-place texts first, a place the question
names above all), and one passage per article. Then :func:`by_coverage` weighs each candidate by
how much of the question it answers: BM25 sums its words' scores, so a passage repeating a few
common words of the question (劳动合同, 用人单位) outscores one that holds nearly all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shuzhi.cn.text import clean_text
from shuzhi.knowledge import jurisdiction
from shuzhi.knowledge import thesaurus as colloquial
from shuzhi.knowledge._text import segment_query
from shuzhi.knowledge.backends import Hit
from shuzhi.knowledge.catalog import Catalog, authority
from shuzhi.knowledge.citations import ARTICLE_REF, article_number
from shuzhi.knowledge.model import SearchFilters

NAMED_LAW_BOOST = 3.0
HOME_WORDS = ("本市", "我市", "市里", "咱们市")
# Full-width digits and Latin letters as typed by a Chinese input method: 第４４条 is 第44条.
HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code).isalnum()}


@dataclass(frozen=True)
class Question:
    text: str
    words: list[str]
    content_words: list[str]  # without the words of a law title the question names
    law_keys: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    article_no: int | None = None  # capped (citations.MAX_ARTICLE_NO): past any end
    title_spans: list[str] = field(default_factory=list)


def normalised(question: str) -> str:
    """A question as it is read: pasted zero-width and control characters dropped, full-width
    digits and letters as their ASCII forms."""
    return clean_text(question).translate(HALF_WIDTH)


def analyse(
    text: str,
    catalog: Catalog,
    home: jurisdiction.Home,
    thesaurus: colloquial.Thesaurus | None = None,
) -> Question:
    """Words to search for, laws and places the question names, and an article it cites.

    ``thesaurus`` adds legal terms for colloquial words (None: the shipped one). The text is
    read :func:`normalised`.
    """
    text = normalised(text)
    titles = catalog.titles_in(text)
    places = set(catalog.places_in(text))
    if any(word in text for word in HOME_WORDS):
        places.add(home.city)
    for name in titles:  # a law's own title naming a place is not a place asked about
        places -= {p for p in places if p in name and p not in text.replace(name, "")}
    article = ARTICLE_REF.search(text)
    words = segment_query(text)
    for term in (thesaurus or colloquial.shipped()).expand(text):
        words += [w for w in segment_query(term) if w not in words]
    title_words = {w for name in titles for w in segment_query(name)}
    return Question(
        text=text,
        words=words,
        content_words=[w for w in words if w not in title_words],
        law_keys=frozenset(k for keys in titles.values() for k in keys),
        places=frozenset(places),
        article_no=article_number(article.group(1)) if article else None,
        title_spans=list(titles),
    )


@dataclass
class Ranked:
    document_id: int
    seq: int
    score: float


def rerank(
    hits: Iterable[Hit],
    question: Question,
    catalog: Catalog,
    home: jurisdiction.Home,
    filters: SearchFilters,
) -> list[Ranked]:
    best: dict[tuple[int, int], Ranked] = {}
    for hit in hits:
        info = catalog.docs.get(hit.document_id)
        if info is None or (not filters.all_versions and catalog.is_superseded(info)):
            continue  # a document deleted since it was indexed, or an older version of a law
        if question.places:
            where = jurisdiction.weight(info.province, info.city, home, question.places)
            score = hit.score * where * authority(info)
        else:
            score = hit.score * catalog.prior(info.id, home)
        if info.law_key in question.law_keys:
            score *= NAMED_LAW_BOOST
        key = (hit.document_id, hit.seq)
        current = best.get(key)
        if current is None or score > current.score:
            best[key] = Ranked(hit.document_id, hit.seq, score)
    return sorted(best.values(), key=lambda r: r.score, reverse=True)


def coverage(words: Iterable[str], text: str, weights: Mapping[str, float]) -> float:
    """Share of the question's words (weighted by rarity) that ``text`` holds, from 0 to 1.

    Words are looked up as substrings of the lower-cased text, not as index tokens: the
    segmenter cuts 计算 as one word, and a question's 算 is still answered by it.
    """
    weighted = [(word, weights.get(word, 0.0)) for word in words]
    total = sum(weight for _, weight in weighted)
    return _share(weighted, total, text)


def _share(weighted: list[tuple[str, float]], total: float, text: str) -> float:
    if not total:
        return 1.0
    return sum(weight for word, weight in weighted if word in text) / total


def by_coverage(
    ranked: list[Ranked],
    question: Question,
    texts: Mapping[tuple[int, int], str],
    weights: Mapping[str, float],
) -> list[Ranked]:
    """Each candidate's score times the share of the question it covers, best first.

    ``texts`` holds each candidate's lower-cased document title and passage text (a candidate
    without one keeps its score); ``weights`` the words' inverse document frequencies.
    """
    weighted = [(word, weights.get(word, 0.0)) for word in question.words]
    total = sum(weight for _, weight in weighted)
    out = []
    for r in ranked:
        text = texts.get((r.document_id, r.seq))
        share = _share(weighted, total, text) if text is not None else 1.0
        out.append(Ranked(r.document_id, r.seq, r.score * share))
    return sorted(out, key=lambda r: r.score, reverse=True)
