"""The shipped catalogue: its size, its shape, and every case passing offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shuzhi.scenarios import FieldId, builtin_catalogue, evaluate
from shuzhi.scenarios.definition import CheckRulesStep
from tests.clirun import run_cli

CATALOGUE = builtin_catalogue()


def test_at_least_110_scenarios_and_8_in_every_field() -> None:
    counts = Counter(s.field for s in CATALOGUE)
    assert len(CATALOGUE) >= 110
    assert set(counts) == set(FieldId)
    assert min(counts.values()) >= 8, counts


def test_every_scenario_has_three_cases_an_employee_and_manual_minutes() -> None:
    for scenario in CATALOGUE:
        assert len(scenario.cases) >= 3, scenario.id
        assert scenario.employee and scenario.manual_minutes > 0, scenario.id
        assert scenario.name.zh and scenario.name.en, scenario.id


def test_every_rule_row_cites_a_law_and_an_article() -> None:
    rows = [(s.id, r) for s in CATALOGUE for t in s.rules.values() for r in t.rows]
    assert len(rows) > 350
    for scenario_id, row in rows:
        assert row.source.law and row.source.article, (scenario_id, row.id)


def test_scenarios_do_real_work_not_placeholders() -> None:
    """Each scenario checks rules, classifies, retrieves or computes on its inputs."""
    for scenario in CATALOGUE:
        kinds = {step.kind for step in scenario.steps}
        assert kinds & {"check_rules", "classify", "retrieve", "compute"}, scenario.id
        with_rules = any(isinstance(step, CheckRulesStep) for step in scenario.steps)
        assert with_rules or scenario.passages or "classify" in kinds, scenario.id


def test_all_shipped_cases_pass_offline() -> None:
    report = evaluate()
    failures = [f"{f.scenario_id}/{f.case}: {f.problems}" for f in report.failures()]
    assert report.ok, "\n".join(failures)
    assert set(report.by_field()) == {f.value for f in FieldId}


def test_evaluation_catches_a_case_that_does_not_hold() -> None:
    scenario = CATALOGUE.get("social.unemployment-benefit")
    broken = scenario.model_copy(
        update={
            "cases": [
                c.model_copy(update={"expect": c.expect.model_copy(update={"fired": ["U17-10"]})})
                for c in scenario.cases[:3]
            ]
        }
    )
    from shuzhi.scenarios import Catalogue

    report = evaluate(catalogue=Catalogue({broken.id: broken}))
    assert not report.ok
    assert report.scenarios[0].passed < 3
    assert "规则 U17-10 应触发而未触发" in report.failures()[0].problems


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(tmp_path),
        "SHUZHI_DATABASE_URL": "",
        "COLUMNS": "300",
    }
    return subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "scenarios", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_list_json_gives_every_scenario_with_its_field(tmp_path: Path) -> None:
    result = _cli("list", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == len(CATALOGUE)
    assert all(item["field"] in {f.value for f in FieldId} for item in items)


def test_cli_list_on_a_narrow_terminal_shows_every_id_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(monkeypatch, capsys, "scenarios", "list")
    assert result.returncode == 0, result.stderr

    shown = set(result.stdout.split())
    missing = [s.id for s in CATALOGUE if s.id not in shown]
    assert not missing, missing
    assert "…" not in result.stdout
    assert "人工审批后" in result.stdout and "approve_before_effect" not in result.stdout
    # Names keep a readable width: no line holds a lone character of a name (was 1 cell wide).
    flagship = next(s for s in CATALOGUE if s.id == "approval.business-registration-precheck")
    assert flagship.name.zh[:4] in result.stdout


def test_cli_eval_all_prints_counts_per_field_and_exits_zero(tmp_path: Path) -> None:
    result = _cli("eval", "--all", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for field in FieldId:
        assert f"（{field.value}）" in result.stdout
    assert f"共 {len(CATALOGUE)} 个场景" in result.stdout


def test_cli_run_reports_bad_input_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "in.json"
    bad.write_text("{not json", encoding="utf-8")
    result = _cli("run", "social.insurance-qa", "--input", str(bad), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "不是合法 JSON" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.realdata
def test_cited_articles_exist_in_the_law_texts(shared_data: Path) -> None:
    """Every article cited from a law present in ../shared/data/laws is really in that text."""
    laws = shared_data / "laws"
    checked = 0
    for scenario in CATALOGUE:
        sources = scenario.rule_sources() + [p.source for p in scenario.passages]
        for source in sources:
            files = sorted(laws.rglob(f"{source.law}(*).md"))
            numbers = re.findall(r"第[一二三四五六七八九十百零]+条", source.article)
            if not files or not numbers:
                continue
            text = files[-1].read_text(encoding="utf-8")
            for number in numbers:
                assert re.search(rf"^(\*\*)?{number}", text, re.M), (scenario.id, source)
                checked += 1
    assert checked > 300


def test_the_duty_gate_covers_exactly_an_employees_scenarios() -> None:
    from shuzhi.scenarios import evaluate_employee

    report = evaluate_employee("trading-reviewer")
    served = {s.id for s in CATALOGUE.for_employee("trading-reviewer")}
    assert {s.scenario_id for s in report.scenarios} == served
    assert report.ok
    assert not evaluate_employee("no-such-employee").ok
