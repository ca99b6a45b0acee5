"""Flagship scenarios on inputs that pass, inputs that fail their rules, and malformed inputs."""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.aigc import Mode
from shuzhi.errors import InvalidInput
from shuzhi.scenarios import builtin_catalogue, run_scenario
from shuzhi.scenarios.evaluation import evaluate_scenario

FLAGSHIPS = sorted(s.id for s in builtin_catalogue() if s.flagship)
# The fourteen flagships the catalogue issue names, by the scenario that does each.
REQUIRED_FLAGSHIPS = {
    "approval.business-registration-precheck",
    "approval.service-guide-qa",
    "social.insurance-qa",
    "social.unemployment-benefit",
    "social.work-injury-deadlines",
    "social.pension-estimate",
    "safety.interrogation-record-check",  # police-record completeness
    "trading.tender-compliance",
    "trading.bid-rigging-clues",
    "market.ad-wording-prescreen",
    "hotline.work-order-dispatch",
    "urban.event-dispatch",
    "office.document-format-check",  # GB/T 9704
    "data.quality-check",
}

ELIGIBLE = {"involuntary": True, "registered_unemployed": True, "seeking_job": True}


def test_at_least_fourteen_flagships_each_with_cited_rules() -> None:
    assert len(FLAGSHIPS) >= 14
    assert set(FLAGSHIPS) >= REQUIRED_FLAGSHIPS, REQUIRED_FLAGSHIPS - set(FLAGSHIPS)
    for scenario_id in FLAGSHIPS:
        scenario = builtin_catalogue().get(scenario_id)
        sources = scenario.rule_sources() + [p.source for p in scenario.passages]
        assert sources, scenario_id
        assert all(s.law and s.article for s in sources)


@pytest.mark.parametrize("scenario_id", FLAGSHIPS)
def test_each_flagship_has_passing_failing_and_malformed_cases(scenario_id: str) -> None:
    scenario = builtin_catalogue().get(scenario_id)
    expects = [c.expect for c in scenario.cases]
    assert any(e.error for e in expects), "needs a malformed-input case"
    assert any(e.fired or e.needs_review for e in expects), "needs a case that fails a rule"
    passing = [e for e in expects if not e.error and (not e.fired or e.needs_review is False)]
    assert passing, "needs a case that passes"
    report = evaluate_scenario(scenario)
    assert report.ok, [c.problems for c in report.cases if not c.passed]


@pytest.mark.parametrize(
    ("years", "prior", "months", "rule"),
    [
        (1, 0, 12, "U17-1"),
        (4.9, 0, 12, "U17-1"),
        (5, 0, 18, "U17-5"),
        (9.5, 0, 18, "U17-5"),
        (10, 0, 24, "U17-10"),
        (3, 10, 22, "U17-1"),
        (8, 10, 24, "U17-5"),
    ],
)
def test_unemployment_duration_follows_article_17(
    years: float, prior: int, months: int, rule: str
) -> None:
    inputs = {"contribution_years": years, "prior_unclaimed_months": prior, **ELIGIBLE}
    result = run_scenario("social.unemployment-benefit", inputs)
    assert result.outputs["months"] == months
    assert result.fired == [rule]
    hit = result.hits[0]
    assert (hit.law, hit.article) == ("失业保险条例", "第十七条")
    assert hit.inputs == {"contribution_years": years}


def test_unemployment_ineligibility_explains_every_failed_condition() -> None:
    inputs = {
        "contribution_years": 0.5,
        "involuntary": False,
        "registered_unemployed": False,
        "seeking_job": True,
    }
    result = run_scenario("social.unemployment-benefit", inputs)
    assert result.outputs["eligible"] is False
    assert result.fired == ["U14-1", "U14-2", "U14-3"]
    assert all(h.article.startswith("第十四条") for h in result.hits)
    assert result.needs_review, "a benefit decision waits for a named reviewer"


def test_results_are_labelled_offline_and_carry_citations() -> None:
    result = run_scenario("social.insurance-qa", {"question": "养老保险交满十五年才能领养老金吗"})
    assert result.mode is Mode.OFFLINE
    assert "离线" in result.label
    assert any("第十六条" in c["citation"] for c in result.citations)
    assert result.models == []


def test_malformed_input_lists_every_problem_in_chinese() -> None:
    with pytest.raises(InvalidInput) as info:
        run_scenario(
            "social.pension-estimate",
            {"contribution_years": "很多", "retirement_age": 62, "salary": 1},
        )
    message = info.value.message
    assert "contribution_years" in message and "应为数值" in message
    assert "retirement_age" in message and "只能是" in message
    assert "未知输入 salary" in message
    assert "缺少必填输入 average_index" in message


def test_tender_bond_ceiling_is_two_percent_of_the_estimate() -> None:
    base: dict[str, Any] = {
        "project_name": "测试项目",
        "estimated_price": 1_000_000,
        "issue_date": "2024-04-01",
        "sale_end_date": "2024-04-05",
        "bid_deadline": "2024-04-21",
        "clauses": "具有相应资质。",
    }
    at_limit = run_scenario("trading.tender-compliance", {**base, "bid_bond": 20_000})
    over = run_scenario("trading.tender-compliance", {**base, "bid_bond": 20_001})
    assert "IR26-BOND2PCT" not in at_limit.fired and "BL24-20DAYS" not in at_limit.fired
    assert "IR26-BOND2PCT" in over.fired
    short = run_scenario(
        "trading.tender-compliance", {**base, "bid_bond": 1, "bid_deadline": "2024-04-20"}
    )
    assert "BL24-20DAYS" in short.fired  # 19 days from issue to deadline


def test_registration_precheck_cross_checks_documents() -> None:
    scenario = builtin_catalogue().get("approval.business-registration-precheck")
    inputs = dict(scenario.cases[0].inputs)
    inputs["articles"] = {**inputs["articles"], "legal_rep": "王敏"}
    result = run_scenario(scenario, inputs)
    assert result.fired == ["M8-REP"]
    assert "王敏" in result.hits[0].message
    assert "一次性补正告知书" in result.outputs["draft"]


def test_bid_rigging_finds_shared_bond_account_case_insensitively() -> None:
    bids = [
        {"name": "甲", "price": 100, "bond_account": "ACC-1"},
        {"name": "乙", "price": 180, "bond_account": "acc-1 "},
        {"name": "丙", "price": 130, "bond_account": "ACC-2"},
    ]
    result = run_scenario("trading.bid-rigging-clues", {"bids": bids})
    assert result.fired == ["IR40-6-ACCOUNT"]
    assert result.outputs["involved"] == ["甲", "乙"]
    assert result.needs_review
