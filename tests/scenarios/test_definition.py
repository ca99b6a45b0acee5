from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.catalogue import load_directory
from shuzhi.scenarios.loader import load_scenario_file

MINIMAL = """\
id: social.demo-check
field: social
name: {zh: 演示检查, en: Demo check}
department: 人社局
employee: social-insurance-clerk
manual_minutes: 3
inputs:
  - {name: years, type: number}
steps:
  - kind: check_rules
    table: t
outputs: [t]
rules:
  t:
    rows:
      - id: R1
        when: "years < 1"
        message: 不满一年
        source: {law: 失业保险条例, article: 第十四条}
cases:
  - {name: a, inputs: {years: 0}, expect: {fired: [R1]}}
  - {name: b, inputs: {years: 2}, expect: {not_fired: [R1]}}
  - {name: c, inputs: {}, expect: {error: years}}
"""


def _write(tmp_path: Path, text: str, field: str = "social") -> Path:
    path = tmp_path / field / "demo-check.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_definition_loads(tmp_path: Path) -> None:
    scenario = load_scenario_file(_write(tmp_path, MINIMAL))
    assert scenario.id == "social.demo-check"
    assert scenario.rules["t"].rows[0].source.cite() == "《失业保险条例》第十四条"


def test_a_rule_row_without_its_legal_source_is_refused_with_the_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("        source: {law: 失业保险条例, article: 第十四条}\n", "")
    with pytest.raises(InvalidInput) as info:
        load_scenario_file(_write(tmp_path, text))
    message = info.value.message
    assert "demo-check.yaml:" in message
    assert "rules.t.rows.0.source" in message
    assert ":16 " in message  # the line of the row that lacks its source


def test_a_bad_expression_is_refused_at_load_time_with_field_and_line(tmp_path: Path) -> None:
    text = MINIMAL.replace('when: "years < 1"', 'when: "years <"')
    with pytest.raises(InvalidInput) as info:
        load_scenario_file(_write(tmp_path, text))
    assert "rules.t.rows.0.when" in info.value.message
    assert ":17 " in info.value.message
    assert "语法错误" in info.value.message


def test_fewer_than_three_cases_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - {name: c, inputs: {}, expect: {error: years}}\n", "")
    with pytest.raises(InvalidInput, match="cases"):
        load_scenario_file(_write(tmp_path, text))


def test_a_step_naming_a_missing_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="不存在的规则表"):
        load_scenario_file(_write(tmp_path, MINIMAL.replace("table: t", "table: nope")))


def test_scenario_in_the_wrong_field_folder_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, MINIMAL, field="market")
    with pytest.raises(InvalidInput, match="移到 social/"):
        load_directory(tmp_path)


def test_broken_yaml_reports_the_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="第 2 行"):
        load_scenario_file(_write(tmp_path, "id: x\n  field: [unclosed\n"))


def test_unknown_step_kind_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(MINIMAL)
    data["steps"].append({"kind": "shell", "command": "rm -rf /"})
    with pytest.raises(InvalidInput, match=r"steps\.1"):
        load_scenario_file(_write(tmp_path, yaml.safe_dump(data, allow_unicode=True)))


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    twice = MINIMAL.replace("field: social\n", "field: social\nfield: social\n", 1)
    with pytest.raises(InvalidInput, match="第 3 行：字段 field 重复出现"):
        load_scenario_file(_write(tmp_path, twice))


@pytest.mark.parametrize("number", ["Infinity", "NaN", "1e308", "9" * 400])
def test_numbers_no_form_could_hold_are_refused(number: str) -> None:
    from shuzhi.scenarios import run_scenario

    inputs = {"monthly_base": number, "months": 12}
    with pytest.raises(InvalidInput, match=r"monthly_base|月缴费基数"):
        run_scenario("social.pension-back-payment", inputs)
