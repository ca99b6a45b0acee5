"""Texts named by abbreviation or by a shortened title."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.knowledge.titles import LooseTitles, aliases

NAMES = {
    "济南市12345市民服务热线条例": {"济南市12345市民服务热线条例"},
    "青岛市12345市民服务热线条例": {"青岛市12345市民服务热线条例"},
    "国有土地上房屋征收与补偿条例": {"国有土地上房屋征收与补偿条例"},
    "道路交通安全违法行为记分管理办法": {"道路交通安全违法行为记分管理办法"},
    "北京市物业管理条例": {"北京市物业管理条例"},
    "山东省物业管理条例": {"山东省物业管理条例"},
}


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("济南12345热线条例规定多久办结？", {"济南市12345市民服务热线条例"}),
        ("按房屋征收补偿条例，先补偿后搬迁吗", {"国有土地上房屋征收与补偿条例"}),
        ("记分管理办法怎么规定满分学习", {"道路交通安全违法行为记分管理办法"}),
        ("北京物业管理条例对业主大会的规定", {"北京市物业管理条例"}),
        # Both cities' regulations match 12345热线条例 as well: both are named.
        (
            "12345热线条例对回访的要求",
            {"济南市12345市民服务热线条例", "青岛市12345市民服务热线条例"},
        ),
        ("热线条例怎么规定", set()),  # too few characters to name anything
        ("房屋补偿条例", {"国有土地上房屋征收与补偿条例"}),
        ("土地补偿条例", set()),  # 国有土地上房屋征收与 left out: more than was matched
        # 京 is in 北京 but starts no word of 南京: both 物业管理条例 match as many words.
        ("南京物业管理条例", {"北京市物业管理条例", "山东省物业管理条例"}),
    ],
)
def test_shortened_titles(question: str, named: set[str]) -> None:
    found = LooseTitles(NAMES).find(question)
    assert set().union(*found.values()) == named


def test_the_span_named_is_the_part_of_the_question_that_matched() -> None:
    found = LooseTitles(NAMES).find("请问记分管理办法怎么规定")
    assert list(found) == ["记分管理办法"]


def test_every_shipped_abbreviation_names_another_text() -> None:
    table = aliases()
    assert table["社保法"] == "社会保险法"
    assert all(alias != title and len(alias) >= 2 for alias, title in table.items())


SOCIAL = """# 中华人民共和国社会保险法

<!-- INFO END -->

第一条 失业人员领取失业保险金的期限根据缴费年限确定。
"""


@pytest.fixture
def base(service: KnowledgeService, tmp_path: Path) -> str:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "社会保险法(2018-12-29).md").write_text(SOCIAL, encoding="utf-8")
    (tmp_path / "t" / "道路交通安全违法行为记分管理办法(2021-12-17).md").write_text(
        "# 道路交通安全违法行为记分管理办法\n\n<!-- INFO END -->\n\n第一条 满分教育。\n", "utf-8"
    )
    (tmp_path / "t" / "消费者权益保护法(2013-10-25).md").write_text(
        "# 中华人民共和国消费者权益保护法\n\n<!-- INFO END -->\n\n第一条 保护消费者。\n", "utf-8"
    )
    (tmp_path / "t" / "宪法(2018-03-11).md").write_text(
        "# 中华人民共和国宪法\n\n<!-- INFO END -->\n\n第一条 国家的根本制度。\n", "utf-8"
    )
    service.create("简称", grade=Grade.PUBLIC)
    assert service.import_paths("简称", [tmp_path / "t"]).ok
    service.catalog.refresh(force=True)
    return "简称"


def test_the_catalogue_names_texts_by_abbreviation_and_shortened_title(
    service: KnowledgeService, base: str
) -> None:
    catalog = service.catalog
    assert catalog.titles_in("社保法对失业金期限怎么规定") == {"社保法": {"社会保险法"}}
    assert catalog.titles_in("记分管理办法里满分怎么办") == {
        "记分管理办法": {"道路交通安全违法行为记分管理办法"}
    }
    assert catalog.titles_in("道交法对酒驾怎么罚") == {}  # the base holds no 道路交通安全法
    # A whole title wins over a shortened one read elsewhere in the question.
    assert set(catalog.titles_in("社会保险法和记分管理办法")) == {"社会保险法"}


def test_short_names_are_named_only_as_words(service: KnowledgeService, base: str) -> None:
    catalog = service.catalog
    assert catalog.titles_in("消法第二十四条") == {"消法": {"消费者权益保护法"}}
    assert catalog.titles_in("取消法定节假日加班工资怎么算") == {}  # 取消 / 法定, not 消法
    assert catalog.titles_in("宪法第一条") == {"宪法": {"宪法"}}  # two characters


def test_a_base_holding_a_two_character_law_answers_its_articles(
    service: KnowledgeService, base: str
) -> None:
    answer = service.ask(base, "宪法第一条怎么规定")
    assert answer.supported and answer.citations[0].document_title == "中华人民共和国宪法"
    assert "没有" not in answer.text
