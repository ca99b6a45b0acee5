"""Coverage weighting: a passage answering more of the question beats one repeating a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.knowledge import service as service_module
from shuzhi.knowledge.ranking import Question, Ranked, by_coverage, coverage

# 第一条 repeats the question's rarest word; 第二条 holds it once with the question's other words.
# Plain BM25 puts 第一条 first (term frequency, short length); the fillers make 年限 and 月薪
# words of middling rarity, as 用人单位 or 工资 are in the real corpus.
ARTICLE_2 = (
    "第二条 单位辞退职工的，遣散费按照职工在本单位的工作年限计算，每满一年发给一个月月薪，"
    "由单位在职工离开时一次付清，不得拖延或者分期发放。"
)
LAW = f"""# 示范离职待遇规定

<!-- INFO END -->

第一条 遣散费。遣散费。遣散费。遣散费。

{ARTICLE_2}

第三条 职工的工作年限自入职之日起计算，月薪按照双方约定执行。

第四条 月薪应当以货币形式按月足额发放，不得以实物代替。

第五条 工作年限满十年的职工，单位应当为其安排体检。

第六条 单位应当公示月薪发放的时间和方式。

第七条 本规定自发布之日起施行。
"""
QUESTION = "遣散费按工作年限和月薪怎么计算？"


@pytest.fixture
def rules(service: KnowledgeService, tmp_path: Path) -> str:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "示范离职待遇规定(2021-01-01).md").write_text(LAW, encoding="utf-8")
    service.create("规定库", grade=Grade.PUBLIC)
    assert service.import_paths("规定库", [folder]).ok
    return "规定库"


def test_the_passage_covering_the_question_comes_first(
    service: KnowledgeService, rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.search(rules, QUESTION, k=1)[0].anchor == "第二条"

    # Without the weighting, term frequency wins: the fixture does exercise it.
    monkeypatch.setattr(service_module, "by_coverage", lambda ranked, *_: ranked)
    assert service.search(rules, QUESTION, k=1)[0].anchor == "第一条"


def test_word_weights_follow_rarity(service: KnowledgeService, rules: str) -> None:
    weights = service.backend.word_weights(["遣散费", "月薪", "不存在的词"])
    assert weights["遣散费"] > weights["月薪"] > 0  # 2 chunks hold 遣散费, 4 hold 月薪
    assert weights["不存在的词"] > weights["遣散费"]


def test_coverage_is_the_weighted_share_of_words_found() -> None:
    weights = {"遣散费": 3.0, "年限": 1.0}
    assert coverage(["遣散费", "年限"], "遣散费按工作年限计算", weights) == 1.0
    assert coverage(["遣散费", "年限"], "遣散费。遣散费。", weights) == 0.75
    assert coverage(["算"], "按年限计算", {"算": 1.0}) == 1.0  # a substring, not a token
    assert coverage([], "任何文字", {}) == 1.0


def test_by_coverage_reorders_and_keeps_candidates_without_text() -> None:
    question = Question(text="", words=["遣散费", "年限"], content_words=["遣散费", "年限"])
    ranked = [Ranked(1, 0, 10.0), Ranked(1, 1, 8.0), Ranked(2, 0, 9.0)]
    texts = {(1, 0): "遣散费。遣散费。", (1, 1): "遣散费按年限计算"}
    out = by_coverage(ranked, question, texts, {"遣散费": 3.0, "年限": 1.0})
    assert [(r.document_id, r.seq, r.score) for r in out] == [(2, 0, 9.0), (1, 1, 8.0), (1, 0, 7.5)]
