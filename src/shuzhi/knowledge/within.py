"""Ranking the articles of a text the question names, by shared character pairs.

"工伤保险条例里，对伤残等级鉴定结论不服的，多少天内可以申请再次鉴定？" names its law; the
answer is one of that law's hundred articles. The word search ranks it among every text's
articles: an article repeating the law's common words (鉴定, 结论) can outscore the one that
answers, and in a long law the answer may not be among the word candidates at all. Inside one
text the choice is small, so each of its articles is also scored by the character pairs
(bigrams) it shares with the question. Pairs keep word order (结论不服 shares 论不 only with an
article saying it) and do not depend on how rjieba cuts a phrase; each is weighted BM25-style by
its rarity within that text: "鉴定" is everywhere in a work-injury regulation and counts little,
"不服" and "再次" count much. An article that sets a time limit (十五日内) holds the pair 期限, as
it does in the word index, so "多少天" (期限 by the thesaurus) finds it. The list is then fused by
rank with the word search (see :mod:`shuzhi.knowledge.service`).

The pairs of a text are counted once, on its first question, and kept for the most recently
named texts; the service clears them when documents change.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from shuzhi.knowledge._text import DEADLINE, DEADLINE_WORD

K1 = 1.2
B = 0.75
KEEP_TEXTS = 128  # texts whose pair counts stay in memory (a large law is ~1 MB of counts)

_RUN = re.compile(r"[\u3400-\u9fff0-9a-z]+")
# A pair of two of these says nothing about the provision asked for.
_FILLER = frozenset("的了吗呢吧啊么是在有和与及或对被把给要能会可以什么怎么如何哪一条规定里中")


def pairs(text: str) -> list[str]:
    """Overlapping character pairs of each run of Chinese characters, digits or letters."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def question_pairs(text: str, names: Iterable[str] = (), words: Iterable[str] = ()) -> set[str]:
    """The pairs of the question and of its search ``words`` (thesaurus terms included), less
    those of the text ``names`` it holds and filler pairs."""
    for name in names:
        text = text.replace(name, " ")
    found = pairs(" ".join([text, *words]))
    return {p for p in found if not (p[0] in _FILLER and p[1] in _FILLER)}


@dataclass(frozen=True)
class _Text:
    articles: list[tuple[int, Counter[str], int]]  # (seq, pair counts, pair total)
    df: Counter[str]
    mean_length: float


class ArticleScorer:
    """Scores the chunks of one document against a question; thread-safe.

    ``load`` returns a document's (seq, text) rows; it is called once per document until
    :meth:`clear`.
    """

    def __init__(self, load: Callable[[int], Sequence[tuple[int, str]]]) -> None:
        self._load = load
        self._texts: OrderedDict[int, _Text] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()

    def rank(self, document_id: int, wanted: set[str]) -> list[tuple[int, float]]:
        """(seq, score) of the document's chunks that share a pair with ``wanted``, best first."""
        if not wanted:
            return []
        text = self._text(document_id)
        n = len(text.articles)
        idf = {
            p: math.log(1 + (n - text.df[p] + 0.5) / (text.df[p] + 0.5))
            for p in wanted
            if text.df[p]
        }
        scored = []
        for seq, counts, length in text.articles:
            norm = K1 * (1 - B + B * length / text.mean_length)
            score = sum(
                weight * counts[p] * (K1 + 1) / (counts[p] + norm)
                for p, weight in idf.items()
                if p in counts
            )
            if score > 0:
                scored.append((seq, score))
        return sorted(scored, key=lambda item: item[1], reverse=True)

    def opening(self, document_id: int, count: int = 5) -> list[tuple[int, float]]:
        """The document's first ``count`` chunks in order, scored from 1 down, for a question
        that names the text and asks nothing more."""
        seqs = sorted(seq for seq, _, _ in self._text(document_id).articles)[:count]
        return [(seq, 1.0 / (i + 1)) for i, seq in enumerate(seqs)]

    def _text(self, document_id: int) -> _Text:
        with self._lock:
            found = self._texts.get(document_id)
            if found is not None:
                self._texts.move_to_end(document_id)
                return found
        articles = []
        df: Counter[str] = Counter()
        for seq, body in self._load(document_id):
            counts = Counter(pairs(body))
            if DEADLINE.search(body):  # as in the word index: 十五日内 answers 多少天, 期限
                counts[DEADLINE_WORD] += 1
            articles.append((seq, counts, sum(counts.values())))
            df.update(counts.keys())
        total = sum(length for _, _, length in articles)
        text = _Text(articles, df, total / len(articles) if articles else 1.0)
        with self._lock:
            self._texts[document_id] = text
            while len(self._texts) > KEEP_TEXTS:
                self._texts.popitem(last=False)
        return text
