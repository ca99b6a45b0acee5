"""Hot topics: messages about the same matter, grouped, ranked and named.

Messages inside a time window are turned into TF-IDF vectors of their words (the title counts
double) and grouped by DBSCAN on cosine distance, so a topic is a dense group of near-identical
complaints rather than a broad category. A topic's heat combines volume, votes and recency:

    heat = messages × (1 + ln(1 + up-votes)) × 0.5^(days since the newest message / half-life)

Each topic is named by its key terms and the place its messages share most often.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.feature_extraction.text import TfidfVectorizer

from shuzhi.cn.text import STOPWORDS
from shuzhi.scenarios.hotline._base import segment
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
}


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


def _words(text: str) -> list[str]:
    return [w for w in segment(text) if len(w) > 1 and w not in STOPWORDS and w not in _GENERIC]


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
    docs = [f"{o.masked_title} {o.masked_title} {o.masked_text[:300]}" for o in window]
    # Words in over a fifth of the messages name no matter; tiny batches keep every word.
    vectorizer = TfidfVectorizer(
        tokenizer=_words,
        token_pattern=None,
        lowercase=False,
        sublinear_tf=True,
        max_df=0.2 if len(docs) >= 50 else 1.0,
    )
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no words left at all: nothing to group
        return []
    labels = DBSCAN(eps=EPS, min_samples=min_size, metric="cosine").fit_predict(matrix)
    newest = max((o.message.received_at for o in window if o.message.received_at), default=None)
    terms = np.array(vectorizer.get_feature_names_out())
    topics = [
        _topic([window[i] for i in members], matrix[members], terms, newest)
        for members in _groups(labels)
    ]
    # Ranked on the exact heat; rounded only afterwards, for people to read (rounding first
    # would tie close topics and let the clustering order decide).
    topics.sort(key=lambda t: t.heat, reverse=True)
    for rank, topic in enumerate(topics[:top], start=1):
        topic.rank = rank
        topic.heat = float(f"{topic.heat:.4g}")
    return topics[:top]


def _groups(labels: Any) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(int(label), []).append(index)
    return list(groups.values())


def _topic(members: list[Order], rows: Any, terms: Any, newest: datetime | None) -> HotTopic:
    weights = np.asarray(rows.sum(axis=0)).ravel()
    key_terms = [str(t) for t in terms[np.argsort(-weights)[:4]]]
    place = _common_place(members)
    dates = sorted(o.message.received_at for o in members if o.message.received_at)
    up = sum(o.message.votes_up for o in members)
    return HotTopic(
        rank=0,
        name=f"{place}{'、'.join(key_terms[:3])}" if place else "、".join(key_terms[:3]),
        terms=key_terms,
        place=place,
        messages=len(members),
        votes_up=up,
        votes_down=sum(o.message.votes_down for o in members),
        first_at=dates[0].isoformat() if dates else None,
        last_at=dates[-1].isoformat() if dates else None,
        heat=_heat(len(members), up, dates[-1] if dates else None, newest),
        examples=_examples(members, rows),
        codes=[o.code for o in members],
    )


def _heat(size: int, votes_up: int, last: datetime | None, newest: datetime | None) -> float:
    age = (newest - last).total_seconds() / 86400 if last and newest else 0.0
    return float(size * (1 + math.log1p(votes_up)) * 0.5 ** (age / HALF_LIFE_DAYS))


def _common_place(members: Sequence[Order]) -> str:
    places = Counter()  # type: Counter[str]
    for order in members:
        loc = order.location
        detail = loc.get("estate") or loc.get("road") or loc.get("street") or ""
        if detail:
            places[f"{loc.get('district', '')}{detail}"] += 1
    if not places:
        districts = Counter(o.location.get("district", "") for o in members if o.location)
        best = districts.most_common(1)
        return best[0][0] if best else ""
    name, count = places.most_common(1)[0]
    return name if count * 2 >= len(members) else ""


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
