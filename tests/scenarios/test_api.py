from __future__ import annotations

import yaml

from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.scenarios import export_pack
from shuzhi.storage.db import Database
from tests.apiclient import api_client


def test_catalogue_is_browsed_field_then_scenario(settings: Settings, db: Database) -> None:
    client = api_client(settings, db, Role.VIEWER)
    groups = client.get("/api/scenarios").json()
    assert [g["field"] for g in groups][:2] == ["approval", "social"]
    social = client.get("/api/scenarios", params={"field": "social"}).json()
    assert len(social) == 1 and social[0]["name_zh"] == "社会保障"
    assert any(s["id"] == "social.unemployment-benefit" for s in social[0]["scenarios"])
    detail = client.get("/api/scenarios/social.unemployment-benefit").json()
    assert detail["rules"]["duration"]["rows"][0]["source"]["law"] == "失业保险条例"
    assert client.get("/api/scenarios/social.nope").status_code == 404


def test_run_stores_result_and_explains_rules(settings: Settings, db: Database) -> None:
    client = api_client(settings, db, Role.OPERATOR)
    body = {
        "inputs": {
            "contribution_years": 12,
            "involuntary": True,
            "registered_unemployed": True,
            "seeking_job": True,
        }
    }
    response = client.post("/api/scenarios/social.unemployment-benefit/run", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["outputs"]["months"] == 24
    assert result["explanations"][0]["citation"] == "《失业保险条例》第十七条"
    assert result["needs_review"] and result["review_task_id"]
    assert "离线" in result["label"]
    stored = client.get(f"/api/scenarios/runs/{result['run_id']}").json()
    assert stored["actor"] == "u-operator" and stored["status"] == "pending_review"


def test_bad_inputs_get_a_chinese_422_not_a_stack_trace(settings: Settings, db: Database) -> None:
    client = api_client(settings, db, Role.OPERATOR)
    response = client.post(
        "/api/scenarios/social.unemployment-benefit/run",
        json={"inputs": {"contribution_years": "十年"}},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert "contribution_years" in error["message"] and "缺少必填输入" in error["message"]
    assert "Traceback" not in response.text


def test_viewers_cannot_run_and_operators_cannot_import(settings: Settings, db: Database) -> None:
    viewer = api_client(settings, db, Role.VIEWER)
    assert (
        viewer.post(
            "/api/scenarios/social.insurance-qa/run", json={"inputs": {"question": "失业金"}}
        ).status_code
        == 403
    )
    operator = api_client(settings, db, Role.OPERATOR)
    assert operator.post("/api/scenarios/packs/import", json={"pack": "x"}).status_code == 403


def test_eval_and_pack_round_trip_over_http(settings: Settings, db: Database) -> None:
    admin = api_client(settings, db, Role.DEPARTMENT_ADMIN)
    report = admin.post("/api/scenarios/eval", json={"ids": ["social.pension-estimate"]}).json()
    assert report["ok"] and report["by_field"]["social"]["cases_total"] == 5

    document = yaml.safe_load(export_pack(["market.ad-wording-prescreen"], name="t"))
    document["scenarios"][0]["id"] = "market.district-ad-prescreen"
    pack = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    imported = admin.post("/api/scenarios/packs/import", json={"pack": pack})
    assert imported.json() == {"imported": ["market.district-ad-prescreen"]}
    exported = admin.get(
        "/api/scenarios/packs/export", params={"ids": "market.district-ad-prescreen"}
    )
    assert "market.district-ad-prescreen" in exported.text
