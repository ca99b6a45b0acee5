"""Hot topics: messages about the same matter, grouped, ranked and named.

Messages inside a time window are turned into TF-IDF vectors of their words (the title counts
double) and grouped by DBSCAN on cosine distance, so a topic is a dense group of near-identical
complaints rather than a broad category. A topic's heat combines volume, votes and recency:

    heat = messages × (1 + ln(1 + up-votes)) × 0.5^(days since the newest message / half-life)

Each topic is named by the place most of its messages share and its key terms: content words
(no connectives, adverbs, pronouns, time or direction words), each grown into the whole phrase
it stands in within the topic's messages (丽发 → 丽发新城), and none repeating the place.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.feature_extraction.text import TfidfVectorizer

from shuzhi.cn.clock import local_iso
from shuzhi.cn.text import STOPWORDS
from shuzhi.scenarios.hotline._base import tag
from shuzhi.scenarios.hotline.records import Order

# Cosine distance under which two messages count as the same matter; tuned on the votes file.
EPS = 0.55
MAX_MESSAGES = 20000
HALF_LIFE_DAYS = 30.0
_GENERIC = {
    "问题",
    "反映",
    "领导",
    "您好",
    "你好",
    "请问",
    "希望",
    "相关",
    "部门",
    "情况",
    "市民",
    "尊敬",
    "谢谢",
    "政府",
    "解决",
    "要求",
    "我们",
    "没有",
    "现在",
    "一个",
    "什么",
    "这个",
    # Asking and urging: every message does it, so it names no matter.
    "请求",
    "恳请",
    "拜托",
    "麻烦",
    "加快",
    "尽快",
    "愿意",
    "能否",
    "是否",
    "处理",
    "投诉",
    "咨询",
    "严重",
    "建议",
    "可否",
    "属于",
    "用于",
    "时候",
    # Time words that say only "now" or "then".
    "目前",
    "最近",
    "近期",
    "今年",
    "去年",
    "今天",
    "当时",
    "以前",
    "时间",
}
# Pseudonymised and coded place names (A市, A7县, J4县) stick to the next word when segmented
# (A7县荣盛花语城 → A7 / 县荣盛 / 花语 / 城), so they are cut out first: the topic's place
# gives the district, and as a key term a code says nothing.
_CODE = re.compile(r"[A-Za-z]\d{0,3}[省市区县]")
_DIGIT = re.compile(r"\d")
# Parts of speech that name no matter, by the first letter of jieba's tag: conjunctions (此外),
# prepositions, particles, adverbs (已经), pronouns, direction words (附近), numerals and
# measure words, interjections, onomatopoeia, punctuation. ``eng`` (Latin letters and digits)
# is judged apart. Time words are kept (夜间, 暑假 can be the matter); the empty ones are above.
_FUNCTION_TAGS = frozenset("cpudrfmqyeox")
# A key term grows into its phrase while the same word stands beside it in this share of its
# occurrences, in at least this many messages, up to this many characters (a name, not a
# sentence).
PHRASE_SHARE = 2 / 3
PHRASE_MESSAGES = 2
PHRASE_LONGEST = 8
PLACE_KEYS = ("estate", "road", "street")  # most specific first
# What is left of a phrase after the place is taken out of it, and names nothing.
_PLACE_WORDS = {"小区", "社区", "花园", "家园", "公寓", "新村", "大厦", "街道", "路口", "附近"}


@dataclass
class HotTopic:
    rank: int
    name: str
    terms: list[str]
    place: str
    messages: int
    votes_up: int
    votes_down: int
    first_at: str | None
    last_at: str | None
    heat: float
    examples: list[dict[str, str]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Token = tuple[str, str]  # a word and its part of speech
PLACE_TAG = "place"  # the tag of a place extracted from the message, kept as one token


def _tokens(text: str) -> list[Token]:
    return tag(_CODE.sub("，", text))


def _message_tokens(order: Order) -> list[Token]:
    """The tagged tokens of a message (its title twice), the places extracted from it kept
    whole: segmentation cuts names it does not know (经开区星沙 → 经开 / 区星 / 沙)."""
    names = sorted(
        {v for k, v in order.location.items() if k != "city" and _sound(v)}, key=len, reverse=True
    )
    title = _placed_tokens(order.masked_title, names)
    return [*title, _STOP, *title, _STOP, *_placed_tokens(order.masked_text[:300], names)]


_STOP: Token = ("。", "x")


def _placed_tokens(text: str, names: list[str]) -> list[Token]:
    """The tokens of ``text``, each of ``names`` (longest first) one token wherever it occurs."""
    tokens: list[Token] = []
    start = 0
    while names:
        hits = [(at, -len(n), n) for n in names if (at := text.find(n, start)) >= 0]
        if not hits:
            break
        at, _, name = min(hits)
        if at > start:
            tokens.extend(_tokens(text[start:at]))
        tokens.append((name, PLACE_TAG))
        start = at + len(name)
    if start < len(text):
        tokens.extend(_tokens(text[start:]))
    return tokens


@lru_cache(maxsize=1 << 16)  # a window has far fewer distinct words than tokens
def _content(word: str, pos: str) -> bool:
    """Whether a token can be part of a topic's name: no function word, number or code."""
    if word in STOPWORDS or word in _GENERIC or _DIGIT.search(word):
        return False
    return pos in ("eng", PLACE_TAG) or not pos or pos[0] not in _FUNCTION_TAGS


def _name_words(tokens: list[Token]) -> list[str]:
    """The words a topic may be named by: content words of two or more characters."""
    return [w for w, pos in tokens if len(w) > 1 and _content(w, pos)]


def _words(tokens: list[Token]) -> tuple[list[str], list[str]]:
    """(the words a message is grouped by, those it may be named by). They are the same but for
    places: one word to name by, their own words to group by, because messages write one estate
    in several ways (丽发新城, 丽发新城小区, 丽发新城社区) and its words (丽发, 新城) are what they
    share."""
    group: list[str] = []
    name: list[str] = []
    for word, pos in tokens:
        if pos == PLACE_TAG:
            group.extend(_place_words(word))
            name.append(word)
        elif len(word) > 1 and _content(word, pos):
            group.append(word)
            name.append(word)
    return group, name


@lru_cache(maxsize=4096)
def _place_words(place: str) -> tuple[str, ...]:
    return tuple(_name_words(_tokens(place)))


def _as_is(words: list[str]) -> list[str]:
    return words


def in_window(orders: Sequence[Order], days: int | None) -> list[Order]:
    """The orders received within ``days`` of the newest one (all of them when ``days`` is None)."""
    dated = [o.message.received_at for o in orders if o.message.received_at]
    if days is None or not dated:
        return list(orders)[-MAX_MESSAGES:]
    start = max(dated) - timedelta(days=days)
    kept = [o for o in orders if o.message.received_at and o.message.received_at >= start]
    return kept[-MAX_MESSAGES:]


def hot_topics(
    orders: Sequence[Order], *, window_days: int | None = None, top: int = 10, min_size: int = 2
) -> list[HotTopic]:
    window = in_window(orders, window_days)
    if len(window) < min_size:
        return []
    # Tagged once: the words group the messages, the tokens name the groups.
    tokens = [_message_tokens(o) for o in window]
    group, name = zip(*(_words(t) for t in tokens), strict=True)
    # Words in over a fifth of the messages name no matter; tiny batches keep every word.
    max_df = 0.2 if len(window) >= 50 else 1.0
    vectorizer = TfidfVectorizer(analyzer=_as_is, sublinear_tf=True, max_df=max_df)
    try:
        matrix = vectorizer.fit_transform(group)
    except ValueError:  # no words left at all: nothing to group
        return []
    labels = DBSCAN(eps=EPS, min_samples=min_size, metric="cosine").fit_predict(matrix)
    newest = max((o.message.received_at for o in window if o.message.received_at), default=None)
    groups = _groups(labels)
    topics = [_topic([window[i] for i in g], matrix[g], newest) for g in groups]
    # Ranked on the exact heat; rounded only afterwards, for people to read (rounding first
    # would tie close topics and let the clustering order decide).
    order = sorted(range(len(topics)), key=lambda i: topics[i].heat, reverse=True)[:top]
    namer = _Namer(name, max_df)
    for rank, i in enumerate(order, start=1):
        topic = topics[i]
        topic.rank = rank
        topic.heat = float(f"{topic.heat:.4g}")
        members = groups[i]
        namer.name(topic, [window[m] for m in members], [(tokens[m], name[m]) for m in members])
    return [topics[i] for i in order]


def _groups(labels: Any) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(int(label), []).append(index)
    return list(groups.values())


def _topic(members: list[Order], rows: Any, newest: datetime | None) -> HotTopic:
    """A group of messages with its figures; named afterwards, if it ranks (``_Namer``)."""
    dates = sorted(o.message.received_at for o in members if o.message.received_at)
    up = sum(o.message.votes_up for o in members)
    return HotTopic(
        rank=0,
        name="",
        terms=[],
        place="",
        messages=len(members),
        votes_up=up,
        votes_down=sum(o.message.votes_down for o in members),
        first_at=local_iso(dates[0]) if dates else None,
        last_at=local_iso(dates[-1]) if dates else None,
        heat=_heat(len(members), up, dates[-1] if dates else None, newest),
        examples=_examples(members, rows),
        codes=[o.code for o in members],
    )


class _Namer:
    """Names topics by their place and key terms, words weighted as in TF-IDF over the window
    (sublinear counts × smoothed inverse document frequency), places counted whole."""

    def __init__(self, words: Sequence[list[str]], max_df: float) -> None:
        self.docs = len(words)
        self.df = Counter(w for doc in words for w in set(doc))
        self.max_df = max_df * self.docs

    def name(
        self, topic: HotTopic, members: list[Order], docs: list[tuple[list[Token], list[str]]]
    ) -> None:
        """Set the topic's place, key terms and name; ``docs`` are its messages' tokens and
        words to name by."""
        district, detail = _common_place(members)
        place = detail if detail.startswith(district) else district + detail
        ranked = self._ranked([words for _, words in docs])
        terms = _key_terms(ranked, [tokens for tokens, _ in docs], place, detail or district)
        topic.place, topic.terms = place, terms
        topic.name = f"{place}{'、'.join(terms[:3])}" if place else "、".join(terms[:3])

    def _ranked(self, docs: list[list[str]], k: int = 12) -> list[str]:
        weights: dict[str, float] = {}
        for words in docs:
            for word, count in Counter(words).items():
                if self.df[word] <= self.max_df:
                    idf = math.log((1 + self.docs) / (1 + self.df[word])) + 1
                    weights[word] = weights.get(word, 0.0) + (1 + math.log(count)) * idf
        return sorted(weights, key=lambda w: weights[w], reverse=True)[:k]


def _heat(size: int, votes_up: int, last: datetime | None, newest: datetime | None) -> float:
    age = (newest - last).total_seconds() / 86400 if last and newest else 0.0
    return float(size * (1 + math.log1p(votes_up)) * 0.5 ** (age / HALF_LIFE_DAYS))


def _key_terms(
    ranked: list[str], tokens: list[list[Token]], place: str, detail: str, k: int = 4
) -> list[str]:
    """Up to ``k`` of the topic's heaviest words, each as its whole phrase, none inside the place
    (``detail``: its most specific part, taken out of a phrase that holds it) or saying in part
    what another term says; a longer phrase takes the place of the terms it holds."""
    chosen: list[str] = []
    for word in ranked:
        phrase = _without(_phrase(word, tokens), detail)
        if len(phrase) < 2 or phrase in _PLACE_WORDS or not _content(phrase, ""):
            continue
        if place and phrase in place:
            continue
        held = [i for i, c in enumerate(chosen) if c in phrase]
        if any(_overlap(phrase, c) for i, c in enumerate(chosen) if i not in held):
            continue
        if held:
            chosen[held[0]] = phrase
            chosen = [c for i, c in enumerate(chosen) if i not in held[1:]]
        else:
            chosen.append(phrase)
        if len(chosen) == k:
            break
    return chosen


def _overlap(a: str, b: str) -> bool:
    """Whether two terms share a run of at least half the shorter one (搅拌站, 修建搅拌厂)."""
    short, other = sorted((a, b), key=len)
    size = max(2, (len(short) + 1) // 2)
    return any(short[i : i + size] in other for i in range(len(short) - size + 1))


def _without(phrase: str, detail: str) -> str:
    """``phrase`` without the place in it, or the part of the place it starts or ends with
    (丽发新城搅拌站 → 搅拌站, 劳动东路魅力 + 魅力之城小区 → 劳动东路)."""
    if not detail:
        return phrase
    if detail in phrase:
        return max(phrase.split(detail), key=len)
    for size in range(min(len(detail), len(phrase)) - 1, 1, -1):
        if phrase.endswith(detail[:size]):
            return phrase[:-size]
        if phrase.startswith(detail[-size:]):
            return phrase[size:]
    return phrase


def _phrase(word: str, tokens: list[list[Token]]) -> str:
    """``word`` grown into the phrase it stands in across the topic's messages: while the same
    content word precedes (or follows) it in at least ``PHRASE_SHARE`` of its occurrences, that
    word joins it (花语 → 荣盛花语城, 销售 → 捆绑销售)."""
    spans = [
        (m, i, i + 1) for m, seq in enumerate(tokens) for i, t in enumerate(seq) if t[0] == word
    ]
    text = word
    grown = len({m for m, _, _ in spans}) >= PHRASE_MESSAGES
    while grown:
        grown = False
        for side in (-1, 1):
            beside = [_beside(tokens[m], a, b, side) for m, a, b in spans]
            counts = Counter(w for w in beside if w)
            if not counts:
                continue
            joined, count = counts.most_common(1)[0]
            if count < PHRASE_SHARE * len(spans) or len(text) + len(joined) > PHRASE_LONGEST:
                continue
            kept = [
                (m, a - (side < 0), b + (side > 0))
                for (m, a, b), w in zip(spans, beside, strict=True)
                if w == joined
            ]
            if len({m for m, _, _ in kept}) < PHRASE_MESSAGES:
                continue
            spans = kept
            text = joined + text if side < 0 else text + joined
            grown = True
    return text


def _beside(seq: list[Token], start: int, end: int, side: int) -> str | None:
    """The content word just before (``side`` -1) or after (+1) ``seq[start:end]``, if any."""
    at = start - 1 if side < 0 else end
    if not 0 <= at < len(seq):
        return None
    word, pos = seq[at]
    if not word.strip() or not _content(word, pos) or (pos == "v" and side > 0):
        return None
    # A verb joins only before (捆绑 + 销售): after, it makes a clause (车位 + 不让). A single
    # character joins only as a noun or an adjective (荣盛花语 + 城, 老 + 地方).
    return word if len(word) > 1 or pos[:1] in ("n", "a") else None


def _common_place(members: Sequence[Order]) -> tuple[str, str]:
    """(district, place) that most of the topic's messages name: the most specific of estate,
    road and street that at least half of them share, and the district at least half of those
    name. A place that opens with a function word was cut wrong by extraction (没有出路, 目前…街)
    and is not used."""
    half = len(members) / 2
    for key in PLACE_KEYS:
        named = Counter(o.location[key] for o in members if _sound(o.location.get(key)))
        best = named.most_common(1)
        if best and best[0][1] >= half:
            detail = best[0][0]
            sharing = [o for o in members if o.location.get(key) == detail]
            return _district(sharing), detail
    return _district(members), ""


def _district(members: Sequence[Order]) -> str:
    districts = Counter(o.location["district"] for o in members if o.location.get("district"))
    best = districts.most_common(1)
    return best[0][0] if best and best[0][1] * 2 >= len(members) else ""


@lru_cache(maxsize=4096)
def _sound(place: str | None) -> bool:
    """Whether an extracted place can be trusted as a name: three characters or more, opening
    with a content word."""
    if not place or len(place) < 3:
        return False
    word, pos = _tokens(place)[0]
    return _content(word, pos)


def _examples(members: Sequence[Order], rows: Any, k: int = 3) -> list[dict[str, str]]:
    centroid = np.asarray(rows.mean(axis=0)).ravel()
    closeness = np.asarray(rows @ centroid).ravel()
    return [
        {
            "code": members[i].code,
            "title": members[i].masked_title,
            "text": members[i].masked_text[:200],
        }
        for i in np.argsort(-closeness)[:k]
    ]
