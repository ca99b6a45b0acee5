"""Lifecycle gates: draft → trial → on duty only when the evaluation passes; every step audited."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from shuzhi.employees import EmployeeRuntime, service
from shuzhi.errors import Conflict
from shuzhi.scenarios.loader import scenario_from_data
from shuzhi.scenarios.store import install
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Employee
from tests.employees.conftest import define, say

SCENARIO = """
id: social.test-gate
field: social
name: {zh: 上岗门槛测试, en: Gate test}
description: 用于测试上岗评测门槛的场景。
department: 人力资源和社会保障局
employee: gate-clerk
manual_minutes: 1
inputs:
  - {name: question, type: text, label: 问题}
steps:
  - kind: compute
    set:
      answered: "len(question) > 3"
outputs: [answered]
cases:
  - {name: 长问题, inputs: {question: 养老保险怎么交}, expect: {outputs: {answered: true}}}
  - {name: 短问题, inputs: {question: 你好}, expect: {outputs: {answered: EXPECTED}}}
  - {name: 空问题报错, inputs: {}, expect: {error: question}}
"""

CLERK = """
id: gate-clerk
name: 门槛测试员
department: {code: hrss, name: 人力资源和社会保障局}
role: 解答社保问题。
scenarios: [social.test-gate]
"""


def _install_scenario(db: Database, expected: bool, version: int = 1) -> None:
    text = SCENARIO.replace("EXPECTED", str(expected).lower())
    data = yaml.safe_load(text) | {"version": version}
    with db.session() as session:
        install(
            session, scenario_from_data(data, None, "test"), source="pack", actor="t", replace=True
        )


def _lifecycle(db: Database, slug: str) -> list[tuple[str, str, dict[str, object]]]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.action == "employee.lifecycle", AuditRecord.target == f"employee:{slug}"
            )
            .order_by(AuditRecord.id)
        ).all()
        return [(r.actor, r.outcome, r.detail) for r in rows]


def _status(db: Database, slug: str) -> str:
    with db.session() as session:
        return session.scalars(select(Employee.status).where(Employee.slug == slug)).one()


def test_passing_evaluation_lets_an_employee_go_on_duty_and_each_step_is_audited(
    installed: Database,
) -> None:
    _install_scenario(installed, expected=False)
    define(installed, CLERK)
    with installed.session() as session, pytest.raises(Conflict, match="不能直接变为"):
        service.transition(session, "gate-clerk", "on_duty", "wang", "跳过试用")
    with installed.session() as session:
        service.transition(session, "gate-clerk", "trial", "wang", "开始试用")
        service.transition(session, "gate-clerk", "on_duty", "zhao", "试用一周无问题")
    assert _status(installed, "gate-clerk") == "on_duty"
    steps = _lifecycle(installed, "gate-clerk")
    assert [(a, d["from"], d["to"], d["reason"]) for a, _, d in steps] == [
        ("wang", "draft", "trial", "开始试用"),
        ("zhao", "trial", "on_duty", "试用一周无问题"),
    ]
    assert steps[1][2]["evaluation"] == "3/3"


def test_failing_evaluation_blocks_going_on_duty_with_a_clear_message(
    installed: Database,
) -> None:
    _install_scenario(installed, expected=True)  # the short question is not answered: fails
    define(installed, CLERK)
    with installed.session() as session:
        service.transition(session, "gate-clerk", "trial", "wang", "开始试用")
    with pytest.raises(Conflict) as caught, installed.session() as session:
        service.transition(session, "gate-clerk", "on_duty", "zhao", "申请上岗")
    message = caught.value.message
    assert "未全部通过（2/3）" in message and "social.test-gate/短问题" in message
    assert _status(installed, "gate-clerk") == "trial"


def test_refused_gate_is_audited_even_though_the_transition_fails(installed: Database) -> None:
    _install_scenario(installed, expected=True)
    define(installed, CLERK)
    with installed.session() as session:
        service.transition(session, "gate-clerk", "trial", "wang", "开始试用")
        with pytest.raises(Conflict):
            service.transition(session, "gate-clerk", "on_duty", "zhao", "申请上岗")
    actor, outcome, detail = _lifecycle(installed, "gate-clerk")[-1]
    assert (actor, outcome, detail["reason"], detail["evaluation"]) == (
        "zhao",
        "refused",
        "申请上岗",
        "2/3",
    )


def test_an_employee_without_evaluation_cases_cannot_go_on_duty(installed: Database) -> None:
    define(installed, CLERK.replace("scenarios: [social.test-gate]", "scenarios: []"))
    with installed.session() as session:
        service.transition(session, "gate-clerk", "trial", "wang", "试用")
        with pytest.raises(Conflict, match="没有可评测的场景"):
            service.transition(session, "gate-clerk", "on_duty", "wang", "上岗")


def test_changed_definition_that_fails_evaluation_goes_back_to_trial(installed: Database) -> None:
    _install_scenario(installed, expected=False)
    define(installed, CLERK, on_duty=True)
    _install_scenario(installed, expected=True, version=2)  # its cases now fail
    define(installed, CLERK.replace("解答社保问题。", "解答社保问题，估算养老金。"), actor="li")
    assert _status(installed, "gate-clerk") == "trial"
    actor, _, detail = _lifecycle(installed, "gate-clerk")[-1]
    assert actor == "li" and detail["to"] == "trial" and "第 2 版" in str(detail["reason"])


def test_suspended_and_retired_employees_cannot_chat(offline: EmployeeRuntime) -> None:
    db = offline.db
    conversation = offline.start("social-insurance-clerk")
    with db.session() as session:
        service.transition(session, "social-insurance-clerk", "suspended", "zhao", "政策调整")
    with pytest.raises(Conflict, match="停岗"):
        offline.start("social-insurance-clerk")
    with pytest.raises(Conflict, match="停岗"):
        say(offline, conversation, "养老保险交多少年？")
    with db.session() as session:
        service.transition(session, "social-insurance-clerk", "retired", "zhao", "职能划转")
    with pytest.raises(Conflict, match="退役"):
        offline.start("social-insurance-clerk")
    with db.session() as session, pytest.raises(Conflict, match="不能直接变为"):
        service.transition(session, "social-insurance-clerk", "on_duty", "zhao", "恢复")
    reasons = [d["reason"] for _, _, d in _lifecycle(db, "social-insurance-clerk")]
    assert reasons[-2:] == ["政策调整", "职能划转"]


def test_trial_employee_serves_staff_only(offline: EmployeeRuntime) -> None:
    with offline.db.session() as session:
        service.transition(session, "social-insurance-clerk", "suspended", "zhao", "复核")
        service.transition(session, "social-insurance-clerk", "trial", "zhao", "重新试用")
    with pytest.raises(Conflict, match="试用"):
        offline.start("social-insurance-clerk")
    from tests.platform.helpers import user

    with offline.db.session() as session:
        staff_id = user(session, "tester").id
    conversation = offline.start("social-insurance-clerk", user_id=staff_id)
    assert "第十六条" in say(offline, conversation, "养老保险交满多少年能领养老金？").content
