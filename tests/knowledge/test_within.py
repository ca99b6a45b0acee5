"""A question naming a text: its articles ranked by shared character pairs; short titles named."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.knowledge import Grade, KnowledgeService, SearchFilters
from shuzhi.knowledge import catalog as catalog_module
from shuzhi.knowledge import service as service_module
from shuzhi.knowledge.within import ArticleScorer, pairs, question_pairs

# 第三条 answers the question below; the other articles repeat its common words (鉴定, 结论).
RULES = """# 示范劳动能力鉴定办法

<!-- INFO END -->

第一条 劳动能力鉴定由设区的市级劳动能力鉴定委员会负责，鉴定结论应当及时送达。

第二条 鉴定委员会作出鉴定结论前，应当组织专家进行鉴定，鉴定结论载明鉴定的依据。

第三条 对鉴定结论不服的，可以在收到该鉴定结论之日起十五日内向省级委员会提出再次鉴定申请。

第四条 鉴定结论作出之日起一年后，认为伤残情况发生变化的，可以申请劳动能力复查鉴定。

第五条 鉴定委员会应当公开鉴定的程序和鉴定结论的查询方式。
"""
QUESTION = "示范劳动能力鉴定办法里，对鉴定结论不服的，多少天内能找省里再次鉴定？"

SHORT = """# 中华人民共和国示范法

<!-- INFO END -->

第一条 用人单位安排劳动者延长工作时间的，每日不得超过三小时，每月不得超过三十六小时。

第二条 本法自公布之日起施行。
"""


@pytest.fixture
def rules(service: KnowledgeService, tmp_path: Path) -> str:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "示范劳动能力鉴定办法(2021-01-01).md").write_text(RULES, encoding="utf-8")
    (folder / "示范劳动能力鉴定办法(2015-01-01).md").write_text(
        RULES.replace("十五日内", "三十日内"), encoding="utf-8"
    )
    (folder / "示范法(2020-01-01).md").write_text(SHORT, encoding="utf-8")
    service.create("鉴定库", grade=Grade.PUBLIC)
    assert service.import_paths("鉴定库", [folder]).ok
    return "鉴定库"


def test_pairs_are_taken_within_runs_of_words() -> None:
    assert pairs("再次鉴定，15日") == ["再次", "次鉴", "鉴定", "15", "5日"]
    wanted = question_pairs("示范办法里的再鉴定", ["示范办法"], ["复查"])
    assert wanted == {"的再", "再鉴", "鉴定", "复查"}  # 里的 is filler; the name's pairs are gone


def test_rare_shared_pairs_outweigh_common_ones() -> None:
    rows = [(1, "鉴定鉴定鉴定结论"), (2, "不服的再次鉴定"), (3, "鉴定程序")]
    scorer = ArticleScorer(lambda _doc: rows)
    ranked = scorer.rank(7, {"鉴定", "不服", "再次"})
    assert [seq for seq, _ in ranked] == [2, 1, 3]
    assert scorer.rank(7, set()) == []


def test_an_article_setting_a_time_limit_answers_a_question_of_how_long() -> None:
    scorer = ArticleScorer(lambda _doc: [(1, "作出决定的程序"), (2, "应当在十五日内作出决定")])
    assert [seq for seq, _ in scorer.rank(1, {"期限"})] == [2]


def test_a_text_is_read_once_until_cleared() -> None:
    reads: list[int] = []

    def load(doc_id: int) -> list[tuple[int, str]]:
        reads.append(doc_id)
        return [(1, "再次鉴定")]

    scorer = ArticleScorer(load)
    scorer.rank(1, {"鉴定"})
    scorer.rank(1, {"再次"})
    assert reads == [1]
    scorer.clear()
    scorer.rank(1, {"鉴定"})
    assert reads == [1, 1]


def test_the_named_texts_answer_comes_first(service: KnowledgeService, rules: str) -> None:
    top = service.search(rules, QUESTION, k=1)[0]
    assert (top.anchor, top.document_title) == ("第三条", "示范劳动能力鉴定办法")
    assert "十五日内" in top.text  # the newest version's article


def test_a_named_texts_article_is_found_past_the_word_candidates(
    service: KnowledgeService, rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long law: the word search keeps one candidate only, and it is not the answer.
    monkeypatch.setattr(service_module, "CANDIDATES", 1)
    monkeypatch.setattr(service_module, "NAMED_LAW_CANDIDATES", 1)
    question = "示范劳动能力鉴定办法中鉴定结论的复查和再次鉴定"
    assert "第三条" in [p.anchor for p in service.search(rules, question, k=3)]

    monkeypatch.setattr(
        service_module.KnowledgeService, "_with_named_articles", lambda self, ranked, *_: ranked
    )
    assert "第三条" not in [p.anchor for p in service.search(rules, question, k=3)]


def test_older_versions_of_a_named_text_only_when_asked(
    service: KnowledgeService, rules: str
) -> None:
    newest = service.search(rules, QUESTION, k=5)
    assert not any("三十日内" in p.text for p in newest)
    every = service.search(rules, QUESTION, k=5, filters=SearchFilters(all_versions=True))
    assert any("三十日内" in p.text for p in every)


def test_a_changed_text_is_read_again(
    service: KnowledgeService, rules: str, tmp_path: Path
) -> None:
    service.search(rules, QUESTION, k=1)
    law = tmp_path / "rules" / "示范劳动能力鉴定办法(2021-01-01).md"
    law.write_text(RULES.replace("十五日内", "二十日内"), encoding="utf-8")
    assert service.import_paths(rules, [tmp_path / "rules"]).replaced == 1
    service.catalog.invalidate()
    top = service.search(rules, QUESTION, k=1)[0]
    assert top.anchor == "第三条" and "二十日内" in top.text


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("《示范法》对加班时长有什么上限？", True),
        ("示范法规定每月加班最多多少小时", True),  # 法 + 规定, not 法规
        ("示范法律里加班怎么算", False),
        ("示范法人能不能安排加班", False),
    ],
)
def test_three_character_titles_are_named_unless_a_longer_word_starts(
    service: KnowledgeService, rules: str, question: str, named: bool
) -> None:
    service.catalog.refresh(force=True)
    assert bool(service.catalog.titles_in(question)) is named


def test_a_texts_abbreviation_alone_gives_its_opening_articles(
    service: KnowledgeService, rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An abbreviation no article contains (as 消法 for 消费者权益保护法): no word is found.
    monkeypatch.setattr(catalog_module, "aliases", lambda: {"鉴办": "示范劳动能力鉴定办法"})
    service.catalog.refresh(force=True)

    anchors = [p.anchor for p in service.search(rules, "鉴办", k=3)]
    assert anchors == ["第一条", "第二条", "第三条"]


@pytest.mark.parametrize("number", ["一", "二", "三", "四", "五"])
def test_a_cited_article_of_a_named_text_comes_first(
    service: KnowledgeService, rules: str, number: str
) -> None:
    # 鉴定结论 is in every article: the pairs alone would rank them by length.
    top = service.search(rules, f"示范劳动能力鉴定办法第{number}条关于鉴定结论的规定", k=1)[0]
    assert top.anchor == f"第{number}条"
