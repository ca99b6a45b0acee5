"""Profiling and quality rules on the synthetic register, whose defects are known exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shuzhi.dataofficer.profile import DatasetProfile, profile_parquet
from shuzhi.dataofficer.quality import Rule, check_rule, propose_rules, run_rules
from shuzhi.dataofficer.sources import load_file
from shuzhi.dataofficer.synthetic import Defects
from shuzhi.errors import InvalidInput
from tests.dataofficer.conftest import POPULATION_ROWS
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv

Population = tuple[Path, Path, Defects]


@pytest.fixture(scope="module")
def profile(population: Population) -> DatasetProfile:
    return profile_parquet(population[1])


def test_profile_counts_types_and_nulls(profile: DatasetProfile, population: Population) -> None:
    defects = population[2]
    assert profile.rows == POPULATION_ROWS
    phone = profile.column("手机号")
    assert phone.nulls == defects.missing_phone
    assert phone.null_rate == pytest.approx(0.05)
    ids = profile.column("身份证号")
    assert ids.distinct == POPULATION_ROWS - defects.duplicate_id
    assert profile.column("性别").distinct == 2
    assert profile.column("性别").top_values == [("女", 50_000), ("男", 50_000)]
    assert profile.column("出生日期").inferred_type == "date"
    assert profile.column("登记日期").min == "2024-01-01 00:00:00"
    assert ids.patterns[0] == ("9" * 18, ids.patterns[0][1])


def test_sensitive_columns_are_detected_with_reasons(profile: DatasetProfile) -> None:
    kinds = {c.name: c.pii_kind for c in profile.columns}
    assert kinds == {
        "身份证号": "id_number",
        "姓名": "name",
        "性别": None,
        "出生日期": None,
        "手机号": "phone",
        "住址": "address",
        "登记日期": None,
    }
    detection = profile.column("身份证号").detection
    assert detection is not None and detection.share == pytest.approx(0.98, abs=0.01)
    assert any("身份证" in r for r in detection.reasons)


def test_profile_keeps_no_personal_value_in_clear(
    profile: DatasetProfile, population: Population
) -> None:
    stored = json.dumps(profile.to_dict(), ensure_ascii=False)
    first_row = population[0].read_text(encoding="utf-8").splitlines()[1].split(",")
    id_value, name, phone = first_row[0], first_row[1], first_row[4]
    assert id_value not in stored and phone not in stored and f'"{name}"' not in stored
    assert profile.column("身份证号").min is None  # a range of ID numbers is itself personal data
    assert DatasetProfile.from_dict(json.loads(stored)).column("手机号").pii_kind == "phone"


def test_proposed_rules_find_exactly_the_planted_defects(
    profile: DatasetProfile, population: Population
) -> None:
    defects = population[2]
    rules = propose_rules(profile)
    proposed = {(r.kind, r.column, r.params.get("check")) for r in rules}
    assert ("validity", "身份证号", "id_number") in proposed
    assert ("uniqueness", "身份证号", None) in proposed
    assert ("completeness", "手机号", None) in proposed
    assert ("validity", "手机号", "phone") in proposed

    report = run_rules(population[1], rules, masks={"身份证号": "id_number", "手机号": "phone"})
    failing = {(r.rule.kind, r.rule.column): r.failing for r in report.results}

    assert failing[("validity", "身份证号")] == defects.bad_check_digit == 2_000
    assert failing[("uniqueness", "身份证号")] == defects.duplicate_id == 1_000
    assert failing[("completeness", "手机号")] == defects.missing_phone == 5_000
    assert failing[("validity", "手机号")] == defects.bad_phone == 500
    assert failing[("completeness", "姓名")] == 0
    rates = {(r.rule.kind, r.rule.column): r.rate for r in report.results}
    assert rates[("validity", "身份证号")] == pytest.approx(0.02)
    expected = 100 * (1 - (0.02 + 0.01 + 0.05 + 0.005) / len(rules))
    assert report.score == pytest.approx(expected, abs=0.01)


def test_failing_rows_are_listed_masked_with_their_row_numbers(population: Population) -> None:
    rules = [Rule("validity", "身份证号", {"check": "id_number"})]
    report = run_rules(population[1], rules, masks={"身份证号": "id_number", "姓名": "name"})
    rows = report.results[0].failing_rows

    assert [r["行号"] for r in rows[:3]] == [8, 58, 108]  # rows i % 50 == 7, 1-based
    assert all("*" in r["身份证号"] and r["姓名"].endswith("*") for r in rows)
    raw = population[0].read_text(encoding="utf-8").splitlines()[8].split(",")[0]
    assert raw not in json.dumps(rows, ensure_ascii=False, default=str)


def test_referential_and_timeliness_rules(tmp_path: Path, population: Population) -> None:
    people = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "utf-8")
    loaded = load_file(people, tmp_path / "people.parquet")
    rules = [
        Rule("referential", "身份证号", {"dataset": "register", "column": "身份证号"}),
        Rule("timeliness", "登记日期", {"max_age_days": 36500}),
    ]
    report = run_rules(loaded.parquet, rules[:1], references={"register": population[1]})
    assert report.results[0].failing == 4  # none of the four people is in the register

    aged = run_rules(population[1], rules[1:])
    assert aged.results[0].failing == 0
    stale = run_rules(population[1], [Rule("timeliness", "登记日期", {"max_age_days": 0})])
    assert stale.results[0].failing == POPULATION_ROWS


def test_rules_that_cannot_run_are_refused_with_what_to_fix() -> None:
    columns = ["身份证号"]
    with pytest.raises(InvalidInput, match="可用的列"):
        check_rule(Rule("completeness", "手机"), columns)
    with pytest.raises(InvalidInput, match="check"):
        check_rule(Rule("validity", "身份证号"), columns)
    with pytest.raises(InvalidInput, match="未知的规则类型"):
        check_rule(Rule("beauty", "身份证号"), columns)
