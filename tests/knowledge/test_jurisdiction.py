"""Where a text applies, from its folder in the law corpus or from its title."""

from __future__ import annotations

import pytest

from shuzhi.knowledge import jurisdiction
from shuzhi.knowledge.jurisdiction import infer, title_place

LOCAL_FOLDER = "laws/DLC/山东地方法规/地方性法规/山东"


@pytest.mark.parametrize(
    ("title", "place"),
    [
        ("济南市12345市民服务热线条例", ("山东", "济南市")),
        ("山东省城市建设管理条例", ("山东", "")),
        ("上海市优化营商环境条例", ("上海", "")),
        ("广东省实施《中华人民共和国工会法》办法", ("广东", "")),
        ("广西壮族自治区水资源管理条例", ("广西", "")),
        ("吉林市城市供水条例", ("吉林", "吉林市")),
        ("延边朝鲜族自治州朝鲜语言文字工作条例", ("吉林", "延边朝鲜族自治州")),
        ("山东省济南市养犬管理办法", ("山东", "济南市")),
        ("《青岛市海岸带保护与利用管理条例》", ("山东", "青岛市")),
    ],
)
def test_a_title_starting_with_a_place_is_local(title: str, place: tuple[str, str]) -> None:
    assert title_place(title) == place
    assert infer(title + "(2020-01-01).md", title) == place


@pytest.mark.parametrize(
    "title",
    [
        "国务院关于上海市进一步推进服务业扩大开放综合试点总体方案的批复",
        "中华人民共和国香港特别行政区基本法",
        "香港特别行政区维护国家安全法",
        "海南自由贸易港法",  # 海南 without 省: a national law about a place
        "台湾同胞投资保护法",
        "上海航运交易所管理规定",
        "关于市人民政府向市人民代表大会常务委员会报告重大事项的若干规定",
        "城市房地产管理法",
    ],
)
def test_national_titles_stay_national(title: str) -> None:
    assert title_place(title) == ("", "")
    assert jurisdiction.label(*infer(f"行政法规/{title}.md", title)) == "全国"


def test_the_folder_comes_first() -> None:
    assert infer(f"{LOCAL_FOLDER}/关于市人民代表大会的决定.md", "关于市人民代表大会的决定") == (
        "山东",
        "",
    )
    assert infer(f"{LOCAL_FOLDER}/青岛市养犬管理条例.md", "青岛市养犬管理条例") == (
        "山东",
        "青岛市",
    )
    # A title naming another province does not move a text out of its folder's province.
    assert infer(f"{LOCAL_FOLDER}/上海市某条例.md", "上海市某条例") == ("山东", "")


def test_words_after_the_province_are_not_a_city() -> None:
    # 城市, 技术市场 and 建筑市场 end in 市 but are no city of the province.
    for title in ("河南省城市房屋拆迁管理条例", "浙江省技术市场条例", "河南省建筑市场管理条例"):
        folder = f"laws/DLC/{title[:2]}地方法规/{title}.md"
        assert infer(folder, title) == (title[:2], "")


def test_every_city_maps_back_to_a_known_province() -> None:
    assert set(jurisdiction.CITIES) <= set(jurisdiction.PROVINCES)
    assert len(jurisdiction.CITY_PROVINCE) == sum(
        len(names.split()) for names in jurisdiction.CITIES.values()
    )
    assert jurisdiction.CITY_PROVINCE["海南藏族自治州"] == "青海"
    assert title_place("海南藏族自治州草原管理条例") == ("青海", "海南藏族自治州")
    assert title_place("海南省森林保护条例") == ("海南", "")
