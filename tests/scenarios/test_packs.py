from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shuzhi.errors import Conflict, InvalidInput
from shuzhi.scenarios import export_pack, import_pack, load_catalogue, read_pack, run_scenario
from shuzhi.storage.db import Database


def _renamed_pack(version: int = 1) -> str:
    """A pack carrying the pension scenario under a district's own id."""
    document = yaml.safe_load(export_pack(["social.pension-estimate"], name="历下区"))
    scenario = document["scenarios"][0]
    scenario["id"] = "social.lixia-pension-estimate"
    scenario["version"] = version
    scenario["name"]["zh"] = "历下区养老金测算"
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_export_then_read_round_trips_rules_and_cases() -> None:
    text = export_pack(["social.unemployment-benefit", "market.ad-wording-prescreen"], name="示例")
    scenarios = read_pack(text)
    original = load_catalogue().get("social.unemployment-benefit")
    assert [s.id for s in scenarios] == [
        "social.unemployment-benefit",
        "market.ad-wording-prescreen",
    ]
    assert scenarios[0] == original


def test_imported_scenarios_join_the_catalogue_and_run(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(_renamed_pack(), encoding="utf-8")
    imported = import_pack(path, db=db, actor="district-admin")
    assert [s.id for s in imported] == ["social.lixia-pension-estimate"]

    catalogue = load_catalogue(db=db)
    assert catalogue.origins["social.lixia-pension-estimate"] == "pack"
    result = run_scenario(
        "social.lixia-pension-estimate",
        {
            "contribution_years": 30,
            "average_index": 1,
            "local_average_wage": 7000,
            "account_balance": 150000,
            "retirement_age": 60,
        },
        catalogue=catalogue,
    )
    assert result.outputs["monthly_pension"] == 3179.14


def test_reimporting_the_same_version_conflicts_unless_replaced(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(_renamed_pack(), encoding="utf-8")
    import_pack(path, db=db)
    with pytest.raises(Conflict, match="已安装"):
        import_pack(path, db=db)
    import_pack(path, db=db, replace=True)
    path.write_text(_renamed_pack(version=2), encoding="utf-8")
    assert import_pack(path, db=db)[0].version == 2


def test_a_pack_whose_cases_fail_installs_nothing(db: Database, tmp_path: Path) -> None:
    document = yaml.safe_load(_renamed_pack())
    document["scenarios"][0]["cases"][0]["expect"]["outputs"]["monthly_pension"] = 1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput, match="未导入任何场景"):
        import_pack(path, db=db)
    assert "social.lixia-pension-estimate" not in load_catalogue(db=db)


def test_an_invalid_pack_names_the_scenario_field_and_line(tmp_path: Path) -> None:
    document = yaml.safe_load(_renamed_pack())
    del document["scenarios"][0]["rules"]["eligibility"]["rows"][0]["source"]
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    with pytest.raises(InvalidInput) as info:
        read_pack(text, "pack.yaml")
    assert "pack.yaml scenarios[0]" in info.value.message
    assert "rules.eligibility.rows.0.source" in info.value.message


def test_a_file_that_is_not_a_pack_is_refused() -> None:
    with pytest.raises(InvalidInput, match="不是场景包"):
        read_pack("id: x\n")
