"""Where a text applies, and how much that matters for a deployment in one city.

A city government's staff and citizens need national law and their own place's local regulations;
another province's regulation on the same subject is almost never the answer (Legislation Law
Art. 80-82: local regulations apply only within the administrative area that made them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

PROVINCES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
]
MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆"})
LOCAL_FOLDER = re.compile(r"^(.+?)地方法规$")
CITY_PREFIX = re.compile(r"^([\u4e00-\u9fff]{2,6}?(?:市|自治州|地区|盟))")
PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")

# Relative weight of a passage by where it applies (multiplies the text score).
HOME_OR_NATIONAL = 1.0
HOME_PROVINCE = 0.9
SAME_PROVINCE_OTHER_CITY = 0.55
OTHER_PROVINCE = 0.45
ASKED_PLACE = 1.6
NOT_ASKED_LOCAL = 0.5


def province_key(name: str) -> str:
    """``山东省`` → ``山东``; ``内蒙古自治区`` → ``内蒙古``."""
    return PROVINCE_SUFFIX.sub("", name.strip())


def city_key(name: str) -> str:
    """``济南市`` → ``济南``."""
    return re.sub(r"(市|自治州|地区|盟)$", "", name.strip())


def infer(source: str, title: str) -> tuple[str, str]:
    """(province, city) of a text from its folder (``DLC/山东地方法规/…``) and its title."""
    province = ""
    for part in PurePath(source).parts:
        folder = LOCAL_FOLDER.match(part)
        if folder:
            province = province_key(folder.group(1))
    if not province:
        return "", ""
    city = CITY_PREFIX.match(title)
    if city is None or province_key(city.group(1)) == province:
        return province, ""
    return province, city.group(1)


@dataclass(frozen=True)
class Home:
    """The deployment's place, from the settings ``place`` and ``province``."""

    province: str
    city: str

    @classmethod
    def of(cls, place: str, province: str) -> Home:
        return cls(province_key(province), city_key(place))


def weight(province: str, city: str, home: Home, asked: frozenset[str]) -> float:
    """How strongly to prefer a text from (``province``, ``city``) for this question."""
    if not province:
        return HOME_OR_NATIONAL
    here = city_key(city) if city else province
    if asked:
        if here in asked or (not city and province in asked):
            return ASKED_PLACE
        return NOT_ASKED_LOCAL
    if province != home.province:
        return OTHER_PROVINCE
    if not city:
        return HOME_PROVINCE
    return HOME_OR_NATIONAL if city_key(city) == home.city else SAME_PROVINCE_OTHER_CITY


def label(province: str, city: str) -> str:
    if not province:
        return "全国"
    return f"{province}{'·' + city if city else ''}"
