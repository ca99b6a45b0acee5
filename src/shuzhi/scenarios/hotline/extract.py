"""Rule-based extraction from a message: place mentioned, type, urgency and the demands made."""

from __future__ import annotations

import re

from shuzhi.scenarios.hotline._base import segment
from shuzhi.scenarios.hotline.rules import Rules

_CITY = re.compile(r"([A-Z]|[\u4e00-\u9fa5]{2,3})市")
_DISTRICT = re.compile(r"(?:(?<=市)|(?<![\u4e00-\u9fa5A-Za-z0-9]))([A-Z]\d{0,2}[区县])")
_NAMED_DISTRICT = re.compile(r"(?<=市)([\u4e00-\u9fa5]{2,3}?[区县])")
# Only the suffix is searched for; the name before it is cut out by _trim_stem. A pattern that
# also matched the name would be tried at every position of the text, which is slow.
_STREET = re.compile(r"(?<=[\u4e00-\u9fa5A-Za-z0-9])(街道|镇|乡)(?![村长政府])")
_ROAD = re.compile(r"(?<=[\u4e00-\u9fa5A-Za-z0-9])(大道|路|街)(?![道口边灯上面段况线])")
_ESTATE = re.compile(
    r"(?<=[\u4e00-\u9fa5A-Za-z0-9])(小区|花园|家园|公寓|新村|新城|社区|华府|公馆|大厦|苑)"
)
_BOUNDARY = re.compile(r"[，。、；：！？,.;:!?\s（）()“”\"《》]")
_STOP = set("的在住于是了我家从到和与及对请把向给被让这那个位附近旁边门口里内所该小")
_STOP_WORDS = {
    "位于",
    "地处",
    "就在",
    "住在",
    "关于",
    "反映",
    "我们",
    "本人",
    "靠近",
    "对面",
    "旁边",
}
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_DEMAND = re.compile(
    r"希望|请求|要求|恳请|恳求|请尽快|请相关|请有关|请政府|请领导|请问|建议|能否|能不能|可否|"
    r"是否|何时|什么时候|怎么办|如何|为什么|为何|给个说法|解决|处理|[?？]"
)


def extract_location(text: str) -> dict[str, str]:
    """District, street (街道/镇/乡), road and estate named in the text, when present."""
    place: dict[str, str] = {}
    if city := _CITY.search(text):
        place["city"] = city.group(0)
    district = _DISTRICT.search(text) or _NAMED_DISTRICT.search(text)
    if district:
        place["district"] = district.group(1)
    for key, pattern in (("street", _STREET), ("road", _ROAD), ("estate", _ESTATE)):
        if name := _named_place(text, pattern):
            place[key] = name
    return place


def _named_place(text: str, pattern: re.Pattern[str]) -> str | None:
    for match in pattern.finditer(text):
        stem = _trim_stem(text[max(0, match.start() - 8) : match.start()])
        if stem:
            return stem + match.group(1)
    return None


def _trim_stem(before: str) -> str:
    """The proper name just before a place suffix: cut at punctuation, places and small words."""
    before = _BOUNDARY.split(before)[-1]
    before = re.split(r"[A-Z]?\d*[市区县省]|街道|路", before)[-1]
    words = segment(before) if before else []
    kept: list[str] = []
    for word in reversed(words):
        if word in _STOP or word in _STOP_WORDS or len("".join(kept)) >= 6:
            break
        kept.insert(0, word)
    stem = "".join(kept)
    return stem if len(stem) >= 2 else ""


def classify_type(title: str, text: str, rules: Rules) -> str:
    """Consultation, help, complaint, report or suggestion (regulation Art. 3 and Art. 14)."""
    head = f"{title}。{text[:300]}"
    for rule in rules.file.types:
        if any(k in head for k in rule.keywords):
            return rule.code
    return rules.file.default_type


def classify_urgency(text: str, rules: Rules) -> str:
    u = rules.file.urgency
    if any(k in text for k in u.urgent):
        return "urgent"
    if any(k in text for k in u.high):
        return "high"
    return "normal"


def extract_demands(text: str, limit: int = 5) -> list[str]:
    """The sentences that ask for something: a question, a request, a proposal."""
    demands: list[str] = []
    for sentence in _SENTENCE.findall(text):
        sentence = sentence.strip()
        if len(sentence) >= 4 and _DEMAND.search(sentence) and sentence not in demands:
            demands.append(sentence[:120])
        if len(demands) >= limit:
            break
    return demands
