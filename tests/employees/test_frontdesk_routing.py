"""Offline routing of the front desk: citizens' phrasings (``asks``), words fused with character
n-grams, the staff-only and intent rules, the floor, and the routing evaluation set in bench/."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from shuzhi.employees import EmployeeRuntime, frontdesk
from shuzhi.employees.definition import builtin_definitions
from shuzhi.employees.frontdesk import FrontDesk, Target, is_inspection, wants_to_apply
from shuzhi.employees.runtime import NOTHING_FITS
from shuzhi.errors import InvalidInput
from shuzhi.scenarios import load_catalogue
from shuzhi.scenarios.loader import scenario_from_data
from tests.employees.conftest import say

REQUESTS = Path(__file__).resolve().parents[2] / "bench" / "frontdesk_requests.yaml"

# Two scenarios that both speak of the business licence, without citizens' phrasings and
# without saying who comes for them: which one wins is decided by the rules alone.
DISPLAY = Target(
    "scenario",
    "market.display",
    "营业执照亮照检查",
    "营业执照亮照检查 营业执照亮照检查 检查营业执照是否置于醒目位置 营业执照",
    audience="staff",
)
REGISTRATION = Target(
    "scenario",
    "approval.registration",
    "企业登记材料预审",
    "企业登记材料预审 设立登记后领取营业执照",
    audience="staff",
)


def _scenario(asks: list[str] | None = None, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "social.leave-days",
        "field": "social",
        "name": {"zh": "职工带薪年休假天数核定", "en": "Annual leave"},
        "description": "按《职工带薪年休假条例》第三条依累计工作年限核定年休假天数。",
        "department": "人社局",
        "employee": "social-insurance-clerk",
        "manual_minutes": 5,
        "inputs": [{"name": "years", "type": "number", "min": 0}],
        "steps": [{"kind": "compute", "set": {"days": "5 if years >= 1 else 0"}}],
        "outputs": ["days"],
        "cases": [
            {"name": "a", "inputs": {"years": 2}, "expect": {"outputs": {"days": 5}}},
            {"name": "b", "inputs": {"years": 0}, "expect": {"outputs": {"days": 0}}},
            {"name": "c", "inputs": {}, "expect": {"error": "years"}},
        ],
        **extra,
    }
    if asks is not None:
        data["asks"] = asks
    return data


def test_intent_cues_tell_applying_from_checking_and_from_what_to_do() -> None:
    for text in ("我想办营业执照", "怎么办居住证", "申请低保", "能办居住证吗", "办个健康证"):
        assert wants_to_apply(text), text
    for text in (
        "电池没电了怎么办",
        "这可咋办",
        "帮我检查一下营业执照",
        "营业执照核验",
        "今天天气怎么样",
    ):
        assert not wants_to_apply(text), text
    assert is_inspection("营业执照亮照检查") and is_inspection("平台内经营者资质核验")
    assert not is_inspection("企业登记材料预审")


def _by_id(desk: FrontDesk, text: str) -> dict[str, float]:
    return {t.id: float(s) for t, s in zip(desk.targets, desk.scores(text), strict=True)}


def test_wanting_a_licence_lowers_the_inspection_and_asking_for_a_check_does_not() -> None:
    desk = FrontDesk([DISPLAY, REGISTRATION])
    applying, checking = _by_id(desk, "我想办营业执照"), _by_id(desk, "检查营业执照亮照")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frontdesk, "INTENT_WEIGHT", 1.0)
        plain = _by_id(desk, "我想办营业执照")
    # Without the rule the inspection wins; with it the registration does.
    assert plain["market.display"] > plain["approval.registration"] > 0
    assert applying["approval.registration"] > applying["market.display"]
    assert applying["market.display"] == pytest.approx(
        frontdesk.INTENT_WEIGHT * plain["market.display"]
    )
    assert applying["approval.registration"] == pytest.approx(plain["approval.registration"])
    routed = desk.route("我想办营业执照")
    assert routed is not None and routed.id == "approval.registration"
    assert checking["market.display"] > checking["approval.registration"]
    # A scenario declared for citizens is trusted over its name.
    declared = FrontDesk([replace(DISPLAY, audience="citizen"), REGISTRATION])
    assert _by_id(declared, "我想办营业执照")["market.display"] == pytest.approx(
        plain["market.display"]
    )


def test_a_staff_only_scenario_weighs_less_only_when_citizens_ask() -> None:
    text = "临时占用城市道路 占道 批准"
    staff = Target("scenario", "urban.a", "临时占道检查", text, audience="staff")
    public = Target("scenario", "urban.b", "临时占道申请", text, audience="citizen")
    for_citizens = FrontDesk([staff, public], citizens=True).scores("临时占用城市道路")
    assert 0 < for_citizens[0] < for_citizens[1]
    assert for_citizens[0] == pytest.approx(frontdesk.STAFF_WEIGHT * for_citizens[1])
    for_staff = FrontDesk([staff, public]).scores("临时占用城市道路")
    assert for_staff[0] == pytest.approx(for_staff[1]) and for_staff[0] > 0


def test_a_citizens_phrasing_routes_what_the_legal_description_does_not() -> None:
    other = Target("scenario", "social.other", "产假天数计算", "产假 生育 难产 天数 女职工")
    plain = scenario_from_data(_scenario(), None, "测试")
    asked = scenario_from_data(_scenario(["一年能休几天假", "年假怎么算"]), None, "测试")
    message = "我们单位一年到底能休多少天年假"
    assert FrontDesk([frontdesk._scenario_target(plain), other]).route(message) is None
    decided = FrontDesk([frontdesk._scenario_target(asked), other]).route(message)
    assert decided is not None and decided.id == "social.leave-days"


def test_below_the_floor_nothing_fits() -> None:
    desk = FrontDesk([DISPLAY, REGISTRATION])
    assert desk.route("明天会下雨吗") is None
    assert desk.rank("明天会下雨吗", k=1)[0][1] < frontdesk.FLOOR
    assert desk.route("营业执照亮照检查") is not None  # its own name clears the floor
    assert FrontDesk([]).route("我想办营业执照") is None
    assert desk.route("   ") is None


def test_the_shipped_front_desk_sends_a_business_licence_to_the_registration_precheck() -> None:
    desk = FrontDesk.for_citizens(builtin_definitions(), load_catalogue())
    decided = desk.route("我想办营业执照")
    assert decided is not None and decided.id == "approval.business-registration-precheck"
    assert decided.alternatives[0][1] != "market.license-display-check"
    assert desk.route("这周末天气好不好") is None
    # The same targets give the same (cached) desk; another catalogue gives another one.
    assert FrontDesk.for_citizens(builtin_definitions(), load_catalogue()) is desk
    assert FrontDesk.for_citizens([], load_catalogue()) is not desk


def test_the_front_desk_routes_a_licence_and_turns_the_weather_away(
    offline: EmployeeRuntime,
) -> None:
    turn = say(offline, offline.start("front-desk"), "我想办营业执照")
    assert turn.routed_to is not None
    assert turn.routed_to["id"] == "approval.business-registration-precheck"
    assert "企业登记材料预审" in turn.content and "办理时需要提供" in turn.content
    weather = say(offline, offline.start("front-desk"), "明天会不会下雨啊")
    assert weather.routed_to is None and weather.content.startswith(NOTHING_FITS)


@pytest.mark.parametrize(
    ("asks", "problem"),
    [
        (["好"], "字段 asks.0：应为 2 到 80 个字的一句话，收到 1 个字"),
        (["年假怎么算", "x" * 81], "字段 asks.1：应为 2 到 80 个字的一句话，收到 81 个字"),
        (["年假怎么算", "产假几天", " 年假怎么算 "], "字段 asks：第 3 条“年假怎么算”与第 1 条重复"),
        (["年假\u200b怎么算"], "字段 asks.0：不能含不可见字符（第 3 个字符是 U+200B 零宽空格）"),
        (["   "], "字段 asks.0：不能只含空白字符"),
        ([f"年假第{i}问" for i in range(41)], "字段 asks：最多 40 条，收到 41 条"),
        ("年假怎么算", "字段 asks："),  # a single string, not a list
    ],
)
def test_asks_are_checked_when_the_scenario_loads(asks: object, problem: str) -> None:
    with pytest.raises(InvalidInput) as info:
        scenario_from_data(_scenario(asks=asks), None, "demo.yaml")  # type: ignore[arg-type]
    assert problem in info.value.message


def test_asks_and_audience_load_trimmed_and_default_to_staff() -> None:
    loaded = scenario_from_data(_scenario([" 年假怎么算 "], audience="citizen"), None, "测试")
    assert loaded.asks == ["年假怎么算"] and loaded.audience == "citizen"
    assert scenario_from_data(_scenario(), None, "测试").audience == "staff"
    with pytest.raises(InvalidInput) as info:
        scenario_from_data(_scenario(audience="public"), None, "demo.yaml")
    assert "字段 audience" in info.value.message


def test_the_routing_evaluation_set_is_split_and_names_real_targets() -> None:
    data = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))
    dev, heldout = data["dev"], data["heldout"]
    assert len(dev) >= 40 and len(heldout) >= 40
    texts = [r["text"] for r in dev + heldout]
    assert len(set(texts)) == len(texts)
    for part in (dev, heldout):
        assert any(r["expect"] is None for r in part)  # some requests fit nothing
    desk = FrontDesk.for_citizens(builtin_definitions(), load_catalogue())
    known = {t.id for t in desk.targets}
    named = {r["expect"] for r in dev + heldout if r["expect"]}
    named |= {a for r in dev + heldout for a in r.get("also") or []}
    assert named <= known, sorted(named - known)
    # No held-out request may have been copied into a scenario's phrasings.
    asks = {a for s in load_catalogue().scenarios.values() for a in s.asks}
    assert not asks & {r["text"] for r in heldout}
