"""Numbers a scenario takes in: plain decimals only, finite bounds, defaults held to the range."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.platform.roles import Role
from shuzhi.scenarios import export_pack, load_catalogue, run_scenario
from shuzhi.scenarios.loader import scenario_from_data
from shuzhi.scenarios.numbers import NotANumber, TooLarge, parse_number
from shuzhi.scenarios.values import coerce_inputs
from shuzhi.storage.db import Database
from shuzhi.storage.models import ScenarioRun
from tests.apiclient import api_client
from tests.scenarios.test_inputs_robust import BACK_PAY, GOOD, _definition


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("8000", 8000),
        ("8,000", 8000),
        ("1,234,567.5", 1234567.5),
        (" -3 ", -3),
        ("+2.50", 2.5),
        (".5", 0.5),
        ("３．５", 3.5),
        ("８，０００", 8000),
        ("12.0", 12),
    ],
)
def test_plain_decimals_are_numbers(text: str, number: float) -> None:
    parsed = parse_number(text)
    assert parsed == number and type(parsed) is type(number)


@pytest.mark.parametrize(
    "text", ["4_3", "8,0,0,0", "80,00", "1e5", "nan", "inf", "0x10", "١٢", "12.", "", "3 000"]
)
def test_what_python_reads_but_a_clerk_does_not_mean_is_refused(text: str) -> None:
    with pytest.raises(NotANumber):
        parse_number(text)


@pytest.mark.parametrize("raw", ["1000000000000002", "9" * 5000, 1e16, -(10**16)])
def test_numbers_past_the_limit_are_too_large(raw: object) -> None:
    with pytest.raises(TooLarge):
        parse_number(raw)


@pytest.mark.parametrize(
    ("monthly_base", "problem"),
    [
        ("4_3", "monthly_base（月缴费基数（元）） 应为数值，收到 '4_3'"),
        ("8,0,0,0", "应为数值，收到 '8,0,0,0'"),
        ("1000000000000002", "数值过大（绝对值不能超过 1,000,000,000,000,000），收到"),
        (1e16, "monthly_base（月缴费基数（元）） 数值过大"),
    ],
)
def test_a_run_refuses_underscores_stray_commas_and_huge_numbers(
    monthly_base: object, problem: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_scenario(BACK_PAY, {**GOOD, "monthly_base": monthly_base})
    assert problem in caught.value.message


def test_thousands_separators_and_full_width_digits_give_the_same_result() -> None:
    plain = run_scenario(BACK_PAY, {**GOOD, "monthly_base": 8000}).outputs
    for written in ("8,000", "８０００", "８，０００"):
        assert run_scenario(BACK_PAY, {**GOOD, "monthly_base": written}).outputs == plain


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"min": float("nan")}, "min / max 应为有限数值，收到 nan"),
        ({"max": float("inf")}, "min / max 应为有限数值，收到 inf"),
        ({"default": "120"}, "输入 employer_rate 的默认值 '120' 应在 0 到 100 之间"),
        ({"default": "十六"}, "输入 employer_rate 的默认值 '十六' 不是数值"),
        ({"default": "4_3"}, "默认值 '4_3' 不是数值"),
        ({"type": "integer", "default": 16.5}, "默认值 16.5 不是整数"),
        ({"default": 1e20, "max": None}, "默认值 1e+20 过大"),
    ],
)
def test_a_definition_with_a_broken_bound_or_default_fails_the_load(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        scenario_from_data(_definition(**changes), None, "pension-back-payment.yaml")
    assert problem in caught.value.message
    assert "字段 inputs.2" in caught.value.message


def test_a_default_written_as_text_is_used_as_a_number() -> None:
    scenario = scenario_from_data(_definition(default="20"), None, "pension-back-payment.yaml")

    values = coerce_inputs(scenario, GOOD)

    assert values["employer_rate"] == 20 and type(values["employer_rate"]) is int


def _pack(**changes: Any) -> str:
    document = yaml.safe_load(export_pack([BACK_PAY], name="区县"))
    scenario = document["scenarios"][0]
    scenario["id"] = "social.district-back-payment"
    scenario["inputs"][2] = {**scenario["inputs"][2], **changes}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf"])
def test_a_pack_with_a_non_finite_bound_is_refused_over_http(
    settings: Settings, db: Database, bound: str
) -> None:
    admin = api_client(settings, db, Role.DEPARTMENT_ADMIN)
    pack = _pack().replace("min: 0.0\n", f"min: {bound}\n", 1)
    assert f"min: {bound}\n" in pack

    response = admin.post("/api/scenarios/packs/import", json={"pack": pack})

    assert response.status_code == 422, response.text
    assert "min / max 应为有限数值" in response.json()["error"]["message"]
    assert "social.district-back-payment" not in load_catalogue(db=db)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ScenarioRun)) == 0


def test_a_pack_default_outside_the_range_is_refused_over_http(
    settings: Settings, db: Database
) -> None:
    admin = api_client(settings, db, Role.DEPARTMENT_ADMIN)

    response = admin.post("/api/scenarios/packs/import", json={"pack": _pack(default="200")})

    assert response.status_code == 422, response.text
    assert "默认值 '200' 应在 0 到 100 之间" in response.json()["error"]["message"]
    assert "social.district-back-payment" not in load_catalogue(db=db)


def test_exporting_an_unknown_field_lists_the_fields(settings: Settings, db: Database) -> None:
    admin: TestClient = api_client(settings, db, Role.DEPARTMENT_ADMIN)

    bogus = admin.get("/api/scenarios/packs/export", params={"field": "bogus"})
    listed = admin.get("/api/scenarios", params={"field": "bogus"})
    social = admin.get("/api/scenarios/packs/export", params={"field": "social"})

    assert bogus.status_code == 422, bogus.text
    message = bogus.json()["error"]["message"]
    assert "没有领域 'bogus'" in message and "social（社会保障）" in message
    assert "ValueError" not in bogus.text and "FieldId" not in bogus.text
    assert listed.status_code == 422
    assert social.status_code == 200 and BACK_PAY in social.text
