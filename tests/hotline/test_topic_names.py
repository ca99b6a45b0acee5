"""Hot-topic names: whole words and whole places, no connectives, codes or fragments.

Each case is a fault seen on the shared votes file, rebuilt here from invented messages.
"""

from __future__ import annotations

from pathlib import Path

from shuzhi.scenarios.hotline.batch import BatchJob
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.hotspots import HotTopic, hot_topics

# Other matters in the same batch: a topic's words are weighed against the whole window.
OTHERS = [
    "请问灵活就业人员的社保怎么缴纳",
    "学校课后服务收费是否合规",
    "公交站点太少，建议增设线路",
    "医院检查项目重复收费",
    "菜市场缺斤少两，希望加强检查",
    "公司拖欠农民工工资三个月",
]


def _topics(tmp_path: Path, classifier: DispatchClassifier, texts: list[str]) -> list[HotTopic]:
    rows = ["留言编号,留言时间,留言详情"]
    rows += [f"m{i},2019/11/{i % 28 + 1} 10:00:00,{t}" for i, t in enumerate(texts + OTHERS)]
    path = tmp_path / "topics.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return hot_topics(BatchJob(classifier, topics=False).run(path).orders)


def test_a_coded_district_does_not_cut_the_name_after_it(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """``A7县荣盛花语城`` segments as A7 / 县荣盛 / 花语 / 城: the name was 县荣盛、…、花语."""
    texts = [
        "A7县荣盛花语城紧挨星沙联络线，列车噪音太大，此外晚上也有施工",
        "我是A7县荣盛花语城的业主，星沙联络线列车噪音严重扰民",
        "A7县荣盛花语城居民反映星沙联络线列车噪音扰民，此外振动也大",
        "星沙联络线经过A7县荣盛花语城，列车噪音扰民，请求加装隔音屏",
    ]
    (topic,) = _topics(tmp_path, classifier, texts)
    assert topic.place == "A7县"
    assert "荣盛花语城" in topic.terms and "星沙联络线" in topic.terms, topic.terms
    assert not any(t.startswith("县") or "A7" in t for t in topic.terms), topic.terms
    assert "此外" not in topic.name  # a connective
    assert topic.name.startswith("A7县荣盛花语城") or topic.name.startswith("A7县星沙联络线")


def test_key_terms_do_not_repeat_pieces_of_the_place(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """The estate 丽发新城 segments as 丽发 / 新城: the name was 丽发新城搅拌站、新城、丽发."""
    texts = [
        "A2区丽发新城小区旁边有个搅拌站，噪音和粉尘很大",
        "A2区丽发新城附近的搅拌站噪音扰民，粉尘污染严重",
        "丽发新城小区旁搅拌站夜间施工，噪音和粉尘影响居民",
    ]
    (topic,) = _topics(tmp_path, classifier, texts)
    assert topic.place == "A2区丽发新城"
    assert "搅拌站" in topic.terms and "噪音" in topic.terms
    assert not any(t in "丽发新城" or "丽发" in t for t in topic.terms), topic.terms
    assert topic.name.startswith("A2区丽发新城搅拌站")


def test_a_place_cut_wrong_by_extraction_does_not_name_the_topic(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """``…挣扎，没有出路`` reads as a road named 没有出路 (路 is a road's suffix)."""
    texts = [f"区办初中教育几经挣扎，没有出路，希望市属学校接收区办初中{tail}" for tail in "一二三"]
    (topic,) = _topics(tmp_path, classifier, texts)
    assert topic.place == "" and "出路" not in topic.name
    assert "区办初中" in topic.terms or "区办" in topic.terms, topic.terms


def test_a_phrase_is_kept_whole_and_named_once(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """A word said inside the same phrase stands for it (捆绑 → 捆绑销售), and two terms that
    say the same in part are named once."""
    texts = [
        "开发商捆绑销售车位，不买车位不给签购房合同",
        "开发商要求买房必须接受捆绑销售车位，不买车位不卖房",
        "楼盘开发商强制捆绑销售车位，不买车位就不签合同，请查处",
    ]
    (topic,) = _topics(tmp_path, classifier, texts)
    assert any(t.startswith("捆绑销售") for t in topic.terms), topic.terms
    assert "捆绑" not in topic.terms and "销售" not in topic.terms, topic.terms
    assert sum("车位" in t for t in topic.terms) == 1, topic.terms
