"""What the search needs to know about every document, held in memory.

Reranking looks at a hundred candidates per question; reading their documents from the database
each time would cost more than the search itself, so the catalogue keeps a small record per
document (a few thousand for the whole law corpus) and reloads when the documents change.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import ahocorasick
from sqlalchemy import func, select

from shuzhi.knowledge._text import word_bounds
from shuzhi.knowledge.jurisdiction import PROVINCES, Home, city_key
from shuzhi.knowledge.jurisdiction import weight as jurisdiction_weight
from shuzhi.knowledge.model import DocType
from shuzhi.knowledge.titles import LooseTitles, aliases
from shuzhi.storage.db import Database
from shuzhi.storage.models import KbDocument

NATIONAL_PREFIX = "中华人民共和国"
# Titles of two or three characters (刑法, 宪法, 劳动法, 广告法, 民法典) are named as often as
# long ones, but 法 also starts words: 劳动法律, 公司法人, 保险法规 name no text. 法规定 is read as
# 法 + 规定. Shorter titles not ending so (a guide called 指南) are never looked for.
SHORT_TITLE = 3
SHORT_ENDINGS = ("法", "法典")
_FA_WORDS = frozenset("律规人院官庭治制务学理条")
CHECK_INTERVAL = 2.0  # seconds between checks whether another process changed the documents


@dataclass(frozen=True)
class DocInfo:
    id: int
    kb_id: int
    title: str
    law_key: str
    doc_type: str
    version_date: date | None
    province: str
    city: str


CASE_WEIGHT = 0.6  # a court case illustrates; the statute is what a citizen is owed
INTERPRETATION_WEIGHT = 0.85  # judicial interpretations refine a statute rather than state it
INTERPRETERS = ("最高人民法院", "最高人民检察院")


def authority(info: DocInfo) -> float:
    """How much a text's kind weighs: statutes and regulations 1, interpretations and cases less."""
    if info.doc_type == DocType.CASE:
        return CASE_WEIGHT
    if info.title.startswith(INTERPRETERS):
        return INTERPRETATION_WEIGHT
    return 1.0


def short_title(title: str) -> str:
    """``中华人民共和国劳动合同法`` → ``劳动合同法``: the name people actually say."""
    title = re.sub(r"[《》〈〉\s]", "", title)
    return title.removeprefix(NATIONAL_PREFIX) or title


def law_key(title: str, subtitle: str = "") -> str:
    """Versions of one text share this key; the parts of a code (民法典 合同编) do not."""
    key = short_title(title)
    return f"{key}·{subtitle.strip()}" if subtitle.strip() else key


def _ends_word(text: str, end: int) -> bool:
    """Whether a short title ending at ``end`` (inclusive) is not the start of a longer word."""
    after = text[end + 1 : end + 3]
    return not after or after[0] not in _FA_WORDS or after == "规定"


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.docs: dict[int, DocInfo] = {}
        self.kb_ids: frozenset[int] = frozenset()
        self._priors: dict[int, float] = {}
        self.newest: dict[tuple[int, str], date | None] = {}
        self.by_law_key: dict[str, list[DocInfo]] = {}
        self.places: dict[str, str] = {}
        self._titles: ahocorasick.Automaton | None = None
        self._loose = LooseTitles({})
        self._aliases: frozenset[str] = frozenset()
        self._stamp: tuple[object, ...] | None = None
        self._checked = 0.0
        self.loads = 0  # how often the documents were read: caches keyed on them compare it

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < CHECK_INTERVAL:
            return
        self._checked = now
        stamp = self._read_stamp()
        if force or stamp != self._stamp:
            self._load()
            self._stamp = stamp

    def invalidate(self) -> None:
        self._checked = 0.0
        self._stamp = None

    def titles_in(self, text: str) -> dict[str, set[str]]:
        """Law titles named in ``text`` → the law keys they stand for: whole titles and
        abbreviations (longest matches only), else shortened titles (see :mod:`.titles`)."""
        if self._titles is None:
            return {}
        return self._whole_titles_in(text) or self._loose.find(text)

    def _whole_titles_in(self, text: str) -> dict[str, set[str]]:
        assert self._titles is not None
        spans = [(end - len(key) + 1, end, key) for end, (key, _) in self._titles.iter(text)]
        found: dict[str, set[str]] = {}
        bounds: set[int] | None = None
        for start, end, key in spans:
            inside = any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)
            if inside:
                continue
            if len(key) <= SHORT_TITLE or key in self._aliases:
                # A short name must start a word and not run into one: 消法 is not named in
                # 取消法定, 劳动法 not in 劳动法律.
                bounds = word_bounds(text) if bounds is None else bounds
                if start not in bounds or not _ends_word(text, end):
                    continue
            found[key] = self._titles.get(key)[1]
        return found

    def places_in(self, text: str) -> frozenset[str]:
        """Place keys (``济南``, ``山东``) named in ``text``."""
        return frozenset(key for name, key in self.places.items() if name in text)

    def prior(self, document_id: int, home: Home) -> float:
        """Authority × jurisdiction weight of a document for a question naming no place."""
        weight = self._priors.get(document_id)
        if weight is None:
            info = self.docs[document_id]
            weight = authority(info) * jurisdiction_weight(
                info.province, info.city, home, frozenset()
            )
            self._priors[document_id] = weight
        return weight

    def is_superseded(self, info: DocInfo) -> bool:
        newest = self.newest.get((info.kb_id, info.law_key))
        return bool(newest and info.version_date and info.version_date < newest)

    def _read_stamp(self) -> tuple[object, ...]:
        with self.db.session() as session:
            row = session.execute(
                select(func.count(KbDocument.id), func.max(KbDocument.updated_at))
            ).one()
        return tuple(row)

    def _load(self) -> None:
        with self.db.session() as session:
            rows = session.execute(
                select(
                    KbDocument.id,
                    KbDocument.kb_id,
                    KbDocument.title,
                    KbDocument.law_key,
                    KbDocument.doc_type,
                    KbDocument.version_date,
                    KbDocument.province,
                    KbDocument.city,
                )
            ).all()
        self.docs = {r[0]: DocInfo(*r) for r in rows}
        self.loads += 1
        self._priors = {}
        self.kb_ids = frozenset(info.kb_id for info in self.docs.values())
        self._index_versions()
        self._index_titles()
        self._index_places()

    def _index_versions(self) -> None:
        newest: dict[tuple[int, str], date | None] = {}
        by_law_key: dict[str, list[DocInfo]] = defaultdict(list)
        for info in self.docs.values():
            by_law_key[info.law_key].append(info)
            key = (info.kb_id, info.law_key)
            current = newest.get(key)
            if info.version_date and (current is None or info.version_date > current):
                newest[key] = info.version_date
        self.newest = newest
        self.by_law_key = dict(by_law_key)

    def _index_titles(self) -> None:
        names: dict[str, set[str]] = defaultdict(set)
        for info in self.docs.values():
            if info.doc_type in (DocType.LAW, DocType.GUIDE):
                for name in {short_title(info.title), re.sub(r"\s", "", info.title)}:
                    if len(name) > SHORT_TITLE or (len(name) > 1 and name.endswith(SHORT_ENDINGS)):
                        names[name].add(info.law_key)
        self._loose = LooseTitles(names)
        held = {alias: names[title] for alias, title in aliases().items() if title in names}
        self._aliases = frozenset(held)
        for alias, keys in held.items():
            names[alias] |= keys
        automaton = ahocorasick.Automaton()
        for name, keys in names.items():
            automaton.add_word(name, (name, keys))
        if names:
            automaton.make_automaton()
        self._titles = automaton if names else None

    def _index_places(self) -> None:
        places: dict[str, str] = {}
        for province in PROVINCES:
            places[province] = province
        for info in self.docs.values():
            if info.city:
                key = city_key(info.city)
                places[key] = key
                places[info.city] = key
        self.places = places
