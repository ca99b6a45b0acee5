"""Numeric inputs carry an allowed range: checked when a definition loads, enforced on every run."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.platform.roles import Role
from shuzhi.scenarios import load_catalogue, run_scenario
from shuzhi.scenarios.loader import scenario_from_data
from shuzhi.storage.db import Database
from shuzhi.storage.models import ScenarioRun
from tests.apiclient import api_client

BACK_PAY = "social.pension-back-payment"
# An addition bought from the original supplier may exceed the original contract: no 100 % cap.
UNCAPPED_PERCENT = {"trading.procurement-method.addition_ratio"}
GOOD = {"monthly_base": 5000, "months": 12, "overdue_since": "2024-01-01", "pay_on": "2024-03-01"}


def _definition(**changes: Any) -> dict[str, Any]:
    text = resources.files("shuzhi.scenarios").joinpath(
        "catalogue/social/pension-back-payment.yaml"
    )
    data: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))
    data["inputs"][2] = {**data["inputs"][2], **changes}
    return data


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"min": 50, "max": 10}, "输入 employer_rate 的 min（50）大于 max（10）"),
        ({"default": 120}, "输入 employer_rate 的默认值 120 应在 0 到 100 之间"),
        ({"type": "string", "default": "16"}, "min / max 只用于数值输入"),
    ],
)
def test_a_range_that_cannot_hold_fails_the_load(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        scenario_from_data(_definition(**changes), None, "pension-back-payment.yaml")
    assert problem in caught.value.message
    assert "字段 inputs.2" in caught.value.message


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"monthly_base": -5000}, "monthly_base（月缴费基数（元）） 不能小于 0，收到 -5000"),
        ({"employer_rate": 160}, "employer_rate（单位费率（%）） 应在 0 到 100 之间，收到 160"),
        ({"months": "-3"}, "months（欠缴月数） 不能小于 0，收到 '-3'"),
    ],
)
def test_every_run_refuses_a_value_out_of_range(given: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_scenario(BACK_PAY, {**GOOD, **given})
    assert problem in caught.value.message


def test_the_bounds_themselves_are_allowed() -> None:
    result = run_scenario(BACK_PAY, {**GOOD, "monthly_base": 0, "employer_rate": 100})
    assert result.outputs["employer_part"] == 0


def test_money_counts_and_percentages_of_the_catalogue_are_bounded() -> None:
    unbounded = []
    for scenario in load_catalogue().scenarios.values():
        for spec in scenario.inputs:
            if spec.type not in ("integer", "number"):
                continue
            if spec.min is None:
                unbounded.append(f"{scenario.id}.{spec.name}")
            uncapped = f"{scenario.id}.{spec.name}" in UNCAPPED_PERCENT
            if re.search("[%％]", spec.label) and spec.max is None and not uncapped:
                unbounded.append(f"{scenario.id}.{spec.name} (max)")
    assert unbounded == []


def test_the_api_refuses_a_negative_base_and_stores_no_run(
    settings: Settings, db: Database
) -> None:
    client: TestClient = api_client(settings, db, Role.OPERATOR)
    response = client.post(
        f"/api/scenarios/{BACK_PAY}/run", json={"inputs": {**GOOD, "monthly_base": -1}}
    )
    assert response.status_code == 422, response.text
    assert "monthly_base（月缴费基数（元）） 不能小于 0" in response.json()["error"]["message"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ScenarioRun)) == 0


def test_a_string_input_with_nul_is_refused(settings: Settings, db: Database) -> None:
    client: TestClient = api_client(settings, db, Role.OPERATOR)
    scenario = next(
        s for s in load_catalogue().scenarios.values() if any(i.type == "string" for i in s.inputs)
    )
    name = next(i.name for i in scenario.inputs if i.type == "string")
    response = client.post(f"/api/scenarios/{scenario.id}/run", json={"inputs": {name: "a\x00b"}})
    assert response.status_code == 422, response.text
    assert f"{name}" in response.json()["error"]["message"]
    assert "不能含控制字符" in response.json()["error"]["message"]
