"""The colloquial → legal thesaurus (knowledge/data/colloquial.yaml): its shape and its words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from shuzhi.knowledge._text import colloquial_terms, expand_question

# Keys that would fire on almost any question and so add noise to every search.
GENERIC_KEYS = {"问题", "怎么办", "请问", "咨询", "反映", "规定", "法律", "可以", "什么", "如何"}
# One-character keys are avoided; 狗 names one thing only and predates the rule.
SHORT_KEYS_ALLOWED = {"狗"}


def raw_keys(text: str) -> list[str]:
    """The mapping's keys in file order, duplicates kept (yaml.safe_load keeps only the last)."""
    node = yaml.compose(text)
    assert isinstance(node, yaml.MappingNode)
    return [str(key.value) for key, _ in node.value]


def missing_values(terms: Mapping[str, list[str]], texts: Iterable[str]) -> list[str]:
    """Values that occur in none of ``texts``, as ``key → value``."""
    bodies = list(texts)
    return [
        f"{key} → {value}"
        for key, values in terms.items()
        for value in values
        if not any(value in body for body in bodies)
    ]


def is_term(value: str) -> bool:
    """A legal term (机动车交通事故责任强制保险 is the longest), not a sentence or a list."""
    return 0 < len(value) <= 16 and not any(mark in value for mark in "，。；、 ,;")


def thesaurus_text() -> str:
    return files("shuzhi.knowledge").joinpath("data/colloquial.yaml").read_text(encoding="utf-8")


def test_thesaurus_loads_with_unique_keys_and_short_word_values() -> None:
    terms = colloquial_terms()
    keys = raw_keys(thesaurus_text())

    assert len(terms) >= 300
    assert sorted(set(k for k in keys if keys.count(k) > 1)) == []
    for key, values in terms.items():
        assert len(key) >= 2 or key in SHORT_KEYS_ALLOWED, key
        assert key not in GENERIC_KEYS, key
        assert 1 <= len(values) <= 3, key
        assert all(is_term(value) for value in values), key


def test_duplicate_keys_are_detected() -> None:
    assert raw_keys("房东: [出租人]\n租客: [承租人]\n房东: [业主]\n") == ["房东", "租客", "房东"]


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("房东不退押金怎么办", {"出租人", "保证金"}),
        ("驾照被扣分了还能开车吗", {"机动车驾驶证", "记分"}),
        ("被老板炒鱿鱼了能要补偿吗", {"解除劳动合同", "用人单位"}),
        ("小区的维修基金业委会能随便用吗", {"专项维修资金", "业主委员会"}),
        ("电动车闯红灯被交警拦下", {"电动自行车", "交通信号灯", "公安机关交通管理部门"}),
        ("买到假货商家不给退款", {"假冒", "经营者", "退还货款"}),
        ("社保转到外省怎么办手续", {"社会保险", "转移接续"}),
        ("楼上装修噪音太大", {"装饰装修", "噪声"}),
    ],
)
def test_colloquial_words_expand_to_legal_terms(question: str, wanted: set[str]) -> None:
    assert wanted <= set(expand_question(question))


def test_question_without_colloquial_words_adds_nothing() -> None:
    assert expand_question("本条例自公布之日起施行") == []


def test_missing_values_names_words_absent_from_the_texts() -> None:
    terms = {"房东": ["出租人"], "押金": ["保证金", "押金条"]}
    laws = ["出租人应当按照约定交付租赁物。", "投标保证金不得超过投标总价的百分之二。"]
    assert missing_values(terms, laws) == ["押金 → 押金条"]


@pytest.mark.realdata
def test_every_value_occurs_in_the_law_corpus(shared_data: Path) -> None:
    laws = shared_data / "laws"
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in laws.rglob("*.md"))
    assert missing_values(colloquial_terms(), texts) == []
