"""``/api/employees`` and ``/api/conversations``: definitions, lifecycle, conversations, scoping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.employees import service
from shuzhi.gateway.testing import Reply, ScriptedModelServer
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, Conversation, Message

from .surfaces import QUESTION, SOCIAL, add_model, api_key, definition_yaml, seed


class Api:
    """The app over TestClient, one API key per acting role."""

    def __init__(self, settings: Settings, db: Database, departments: dict[str, int]) -> None:
        self.client = TestClient(create_app(settings, db), raise_server_exceptions=False)
        hrss = departments[SOCIAL]
        self.keys = {
            "root": api_key(db, "root", Role.SYSTEM_ADMIN, None),
            "hrss": api_key(db, "hrss-admin", Role.DEPARTMENT_ADMIN, hrss),
            "other": api_key(
                db, "other-admin", Role.DEPARTMENT_ADMIN, departments["approval-clerk"]
            ),
            "clerk": api_key(db, "hrss-operator", Role.OPERATOR, hrss),
        }

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def api(settings: Settings, db: Database) -> Api:
    return Api(settings, db, seed(db, settings, SOCIAL, "approval-clerk"))


def test_list_and_show_are_scoped_by_department(api: Api) -> None:
    everyone = api.call("root", "GET", "/api/employees").json()
    mine = api.call("hrss", "GET", "/api/employees").json()
    detail = api.call("hrss", "GET", f"/api/employees/{SOCIAL}")
    hidden = api.call("hrss", "GET", "/api/employees/approval-clerk")
    on_duty = api.call("root", "GET", "/api/employees", params={"status": "suspended"}).json()

    assert {e["id"] for e in everyone} == {SOCIAL, "approval-clerk"}
    assert [e["id"] for e in mine] == [SOCIAL]
    assert mine[0]["status"] == "on_duty" and mine[0]["model_name"] == f"employee:{SOCIAL}"
    assert mine[0]["department"]["code"] == "hrss"
    body = detail.json()
    assert body["versions"][0]["version"] == 1 and body["versions"][0]["created_by"] == "test"
    assert "pension_estimate" in body["skills"] and body["knowledge_bases"] == ["社会保险法规"]
    assert body["definition"]["id"] == SOCIAL and set(body["next_states"]) == {
        "suspended",
        "retired",
    }
    assert hidden.status_code == 404
    assert on_duty == []


def test_define_as_yaml_or_json_with_a_new_version_per_change(api: Api, db: Database) -> None:
    created = api.call(
        "hrss", "POST", "/api/employees", json={"yaml": definition_yaml("pension-helper")}
    )
    same = api.call(
        "hrss", "POST", "/api/employees", json={"yaml": definition_yaml("pension-helper")}
    )
    data = created.json()["definition"]
    changed = api.call("hrss", "POST", "/api/employees",
                       json={"definition": {**data, "greeting": "您好！"}})  # fmt: skip

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["changed"] is True
    assert same.status_code == 200 and same.json()["changed"] is False
    assert same.json()["version"] == 1
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert [v["version"] for v in changed.json()["versions"]] == [1, 2]
    with db.session() as session:
        defines = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "employee.define")
        ).all()
        ours = [r for r in defines if r.target == "employee:pension-helper"]
        assert [(r.actor, r.detail["version"]) for r in ours] == [
            ("hrss-admin", 1),
            ("hrss-admin", 2),
        ]


def test_bad_definitions_point_at_the_field(api: Api) -> None:
    bad_yaml = definition_yaml("pension-helper", department="HRSS!")
    from_yaml = api.call("hrss", "POST", "/api/employees", json={"yaml": bad_yaml})
    from_json = api.call("hrss", "POST", "/api/employees",
                         json={"definition": {"id": "x-y", "name": "", "role": "r"}})  # fmt: skip
    broken = api.call("hrss", "POST", "/api/employees", json={"yaml": "id: [unclosed"})
    empty = api.call("hrss", "POST", "/api/employees", json={})
    unknown_skill = api.call("hrss", "POST", "/api/employees",
                             json={"yaml": definition_yaml("p-h", skills="[fly]")})  # fmt: skip

    assert from_yaml.status_code == 422
    error = from_yaml.json()["error"]
    assert error["detail"]["fields"][0]["field"] == "department.code"
    assert error["detail"]["fields"][0]["line"] == 3
    assert "YAML:3" in error["message"]
    fields = {f["field"] for f in from_json.json()["error"]["detail"]["fields"]}
    assert {"name", "department"} <= fields
    assert broken.status_code == 422 and "YAML" in broken.json()["error"]["message"]
    assert empty.status_code == 422 and "definition" in empty.json()["error"]["message"]
    assert unknown_skill.status_code == 422 and "fly" in unknown_skill.json()["error"]["message"]


def test_defining_for_another_department_is_refused(api: Api) -> None:
    elsewhere = definition_yaml("pension-helper", department="hrss")
    new_department = definition_yaml("pension-helper", department="newdept")

    by_other = api.call("other", "POST", "/api/employees", json={"yaml": elsewhere})
    new_by_dept_admin = api.call("hrss", "POST", "/api/employees", json={"yaml": new_department})
    new_by_root = api.call("root", "POST", "/api/employees", json={"yaml": new_department})
    by_operator = api.call("clerk", "POST", "/api/employees", json={"yaml": elsewhere})

    assert by_other.status_code == 403
    assert new_by_dept_admin.status_code == 403 and "newdept" in new_by_dept_admin.text
    assert new_by_root.status_code == 201
    assert by_operator.status_code == 403  # operators may chat, not define


def test_definitions_over_the_api_cannot_run_programs_on_the_server(api: Api) -> None:
    stdio = definition_yaml("pension-helper", mcp_servers="[{name: sh, command: [sh, -c, id]}]")
    remote = definition_yaml("pension-helper", mcp_servers="[{name: r, url: 'http://x/mcp'}]")
    words = definition_yaml("pension-helper", guardrails="{sensitive_words_file: /etc/shadow}")

    refused = [api.call("hrss", "POST", "/api/employees", json={"yaml": y}) for y in (stdio, words)]
    remote_by_dept_admin = api.call("hrss", "POST", "/api/employees", json={"yaml": remote})
    remote_by_root = api.call("root", "POST", "/api/employees", json={"yaml": remote})
    stdio_by_root = api.call("root", "POST", "/api/employees", json={"yaml": stdio})

    assert [r.status_code for r in refused] == [403, 403]
    fields = [r.json()["error"]["detail"]["fields"][0]["field"] for r in refused]
    assert fields == ["mcp_servers.0.command", "guardrails.sensitive_words_file"]
    assert remote_by_dept_admin.status_code == 403
    assert remote_by_root.status_code == 201  # the model-base administrator connects tools
    assert stdio_by_root.status_code == 403  # a program on the server only from a file
    assert api.call("root", "GET", "/api/employees/pension-helper").json()["version"] == 1


def test_an_employee_may_name_only_bases_its_department_may_use(
    api: Api, settings: Settings, db: Database
) -> None:
    from shuzhi.knowledge import KnowledgeService

    other = api.call("other", "GET", "/api/employees").json()[0]["department"]["id"]
    KnowledgeService(db, settings).create("审批内部口径", other, grade="internal")
    theirs = definition_yaml("pension-helper", knowledge_bases="[审批内部口径]")
    missing = definition_yaml("pension-helper", knowledge_bases="[社会保险法规, 不存在的库]")

    refused = api.call("hrss", "POST", "/api/employees", json={"yaml": theirs})
    unknown = api.call("hrss", "POST", "/api/employees", json={"yaml": missing})

    assert refused.status_code == 422 and "其他部门" in refused.json()["error"]["message"]
    fields = unknown.json()["error"]["detail"]["fields"]
    assert unknown.status_code == 422 and fields[0]["field"] == "knowledge_bases.1"


def test_lifecycle_is_audited_and_gated(api: Api, db: Database) -> None:
    api.call("hrss", "POST", "/api/employees", json={"yaml": definition_yaml("pension-helper")})
    url = "/api/employees/{}/transition"

    suspended = api.call(
        "hrss", "POST", url.format(SOCIAL), json={"state": "suspended", "reason": "升级"}
    )
    skipped = api.call("hrss", "POST", url.format(SOCIAL), json={"state": "draft", "reason": "x"})
    trial = api.call("hrss", "POST", url.format("pension-helper"),
                     json={"state": "trial", "reason": "试用"})  # fmt: skip
    gated = api.call("hrss", "POST", url.format("pension-helper"),
                     json={"state": "on_duty", "reason": "上岗"})  # fmt: skip
    no_reason = api.call(
        "hrss", "POST", url.format(SOCIAL), json={"state": "on_duty", "reason": ""}
    )
    elsewhere = api.call("hrss", "POST", url.format("approval-clerk"),
                         json={"state": "suspended", "reason": "x"})  # fmt: skip
    back = api.call("hrss", "POST", url.format(SOCIAL), json={"state": "on_duty", "reason": "恢复"})

    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert skipped.status_code == 409 and "停岗" in skipped.json()["error"]["message"]
    assert trial.status_code == 200 and trial.json()["status"] == "trial"
    assert gated.status_code == 409 and "不能上岗" in gated.json()["error"]["message"]
    assert no_reason.status_code == 422
    assert elsewhere.status_code == 404
    assert back.status_code == 200 and back.json()["status"] == "on_duty"
    with db.session() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "employee.lifecycle", AuditRecord.actor == "hrss-admin")
            .order_by(AuditRecord.id)
        ).all()
        seen = [(r.target, r.detail["to"], r.outcome, r.detail["reason"]) for r in records]
    assert seen == [
        (f"employee:{SOCIAL}", "suspended", "success", "升级"),
        ("employee:pension-helper", "trial", "success", "试用"),
        ("employee:pension-helper", "on_duty", "refused", "上岗"),  # kept although refused
        (f"employee:{SOCIAL}", "on_duty", "success", "恢复"),
    ]
    assert {r.source_ip for r in records} == {"testclient"}  # who asked, from where


def test_offline_conversation_with_sources_history_and_rating(api: Api, db: Database) -> None:
    started = api.call("clerk", "POST", f"/api/employees/{SOCIAL}/conversations")
    public_id = started.json()["id"]
    turn = api.call(
        "clerk", "POST", f"/api/conversations/{public_id}/messages", json={"text": QUESTION}
    )
    history = api.call("clerk", "GET", f"/api/conversations/{public_id}").json()
    rated = api.call(
        "clerk", "POST", f"/api/conversations/{public_id}/satisfaction", json={"score": 5}
    )
    not_theirs = api.call("other", "GET", f"/api/conversations/{public_id}")
    cannot_post = api.call("root", "POST", f"/api/conversations/{public_id}/messages",
                           json={"text": "我也问一句"})  # fmt: skip

    assert started.status_code == 201
    greeting = started.json()["messages"][0]
    assert (
        greeting["author"] == "system"
        and greeting["label"] is None
        and "社保" in greeting["content"]
    )
    answer = turn.json()
    assert turn.status_code == 200 and answer["mode"] == "offline" and answer["model"] is None
    assert "第十六条" in answer["content"] and answer["label"] in answer["content"]
    assert answer["sources"] and "社会保险法" in answer["sources"][0]["citation"]
    roles = [(m["role"], m["author"]) for m in history["messages"]]
    assert roles == [("assistant", "system"), ("user", "human"), ("assistant", "ai")]
    assert history["messages"][2]["mode"] == "offline"
    assert history["messages"][2]["label"].startswith("【AI辅助·离线】")
    assert history["messages"][2]["sources"] == answer["sources"]
    assert history["messages"][1]["label"] is None
    assert history["employee"] == SOCIAL and history["employee_version"] == 1
    assert rated.status_code == 204
    assert not_theirs.status_code == 404
    assert cannot_post.status_code == 403  # another named user's conversation
    with db.session() as session:
        stored = session.scalar(select(Conversation).where(Conversation.public_id == public_id))
        assert stored is not None and stored.satisfaction == 5 and stored.channel == "api"


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streamed_model_answer_then_the_recorded_turn(
    api: Api, db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> None:
    add_model(db, settings, scripted_model)
    scripted_model.push(Reply("累计缴费满十五年，可按月领取基本养老金（《社会保险法》第十六条）。"))
    public_id = api.call("clerk", "POST", f"/api/employees/{SOCIAL}/conversations").json()["id"]

    url = f"/api/conversations/{public_id}/messages"
    accept = {"Accept": "text/event-stream"}
    streamed = api.call("clerk", "POST", url, json={"text": QUESTION}, headers=accept)
    events = _events(streamed.text)

    assert streamed.headers["content-type"].startswith("text/event-stream")
    deltas = "".join(data["content"] for kind, data in events if kind == "delta")
    kind, turn = events[-1]
    assert kind == "turn" and turn["mode"] == "model" and turn["model"] == "deepseek-chat"
    assert deltas.startswith("累计缴费满十五年") and turn["content"].startswith(deltas)
    assert turn["label"].startswith("【AI生成】") and turn["content"].endswith(turn["label"])
    with db.session() as session:
        answer = session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert answer is not None and answer.mode == "model" and answer.content == turn["content"]


def test_offline_answer_streams_as_one_turn_event(api: Api) -> None:
    public_id = api.call("clerk", "POST", f"/api/employees/{SOCIAL}/conversations").json()["id"]
    streamed = api.call("clerk", "POST", f"/api/conversations/{public_id}/messages",
                        json={"text": QUESTION, "stream": True})  # fmt: skip
    events = _events(streamed.text)
    assert [kind for kind, _ in events] == ["turn"]
    assert events[0][1]["mode"] == "offline" and events[0][1]["sources"]


def test_a_suspended_employee_stops_answering(api: Api, db: Database) -> None:
    public_id = api.call("clerk", "POST", f"/api/employees/{SOCIAL}/conversations").json()["id"]
    with db.session() as session:
        service.transition(session, SOCIAL, "suspended", "test", "测试停岗")

    reply = api.call(
        "clerk", "POST", f"/api/conversations/{public_id}/messages", json={"text": QUESTION}
    )
    start = api.call("clerk", "POST", f"/api/employees/{SOCIAL}/conversations")
    empty = api.call("clerk", "POST", f"/api/conversations/{public_id}/messages", json={"text": ""})
    missing = api.call("clerk", "GET", "/api/conversations/no-such-conversation")

    assert reply.status_code == 409 and "停岗" in reply.json()["error"]["message"]
    assert start.status_code == 409
    assert empty.status_code == 422
    assert missing.status_code == 404
