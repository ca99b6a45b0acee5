"""MCP both ways over the real protocol: a server's tools as skills, an employee as a server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.employees import EmployeeRuntime
from shuzhi.employees.mcp import build_server, conversation_of
from shuzhi.gateway.testing import Reply, ScriptedModelServer, ScriptedToolCall
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord
from tests.employees.conftest import define, say

SERVER = Path(__file__).with_name("mcp_transit_server.py")


def _transit_employee(slug: str, audience: str, log: Path) -> str:
    command = json.dumps([sys.executable, str(SERVER)])
    return f"""
id: {slug}
name: 出行咨询员
department: {{code: transport, name: 交通运输局}}
role: 解答公交出行问题。
audience: {audience}
scenarios: [social.insurance-qa]
mcp_servers:
  - name: transit
    command: {command}
    env: {{MCP_CALL_LOG: "{log}"}}
    levels: {{bus_line: public}}
"""


def _calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


def test_mcp_tools_become_namespaced_skills_within_the_ceiling(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer, tmp_path: Path
) -> None:
    log = tmp_path / "calls.jsonl"
    define(online.db, _transit_employee("bus-clerk", "citizen", log), on_duty=True)
    scripted_model.push(
        Reply.tools(ScriptedToolCall("mcp__transit__bus_line", {"line": "K51"})),
        Reply.tools(ScriptedToolCall("mcp__transit__resident_records", {"id_number": "1"})),
        Reply(content="K51 路首班 06:00，末班 22:30。"),
    )
    turn = say(online, online.start("bus-clerk"), "K51 路末班车几点？")

    offered = [t["function"]["name"] for t in scripted_model.chat_requests[0]["tools"]]
    assert offered == ["mcp__transit__bus_line"]  # undeclared tools default to staff
    first, second = turn.tool_calls
    assert first["output"] == {"line": "K51", "first": "06:00", "last": "22:30"}
    assert "无权调用" in second["output"]["error"]
    assert _calls(log) == [{"tool": "bus_line", "arguments": {"line": "K51"}}]
    assert "李四" not in str(scripted_model.chat_requests)
    with online.db.session() as session:
        audited = session.execute(
            select(AuditRecord.outcome, AuditRecord.detail).where(
                AuditRecord.action == "employee.skill"
            )
        ).all()
    assert [(o, d["skill"]) for o, d in audited] == [
        ("success", "mcp.transit.bus_line"),
        ("refused", "mcp__transit__resident_records"),
    ]


def test_staff_employee_gets_the_staff_level_tools(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer, tmp_path: Path
) -> None:
    log = tmp_path / "calls.jsonl"
    define(online.db, _transit_employee("bus-staff", "staff", log), on_duty=True)
    scripted_model.push(
        Reply.tools(ScriptedToolCall("mcp__transit__resident_records", {"id_number": "1"})),
        Reply(content="已读取。"),
    )
    turn = say(online, online.start("bus-staff"), "读一下档案")
    offered = {t["function"]["name"] for t in scripted_model.chat_requests[0]["tools"]}
    assert offered == {"mcp__transit__bus_line", "mcp__transit__resident_records"}
    assert turn.tool_calls[0]["output"]["records"].startswith("李四")
    assert [c["tool"] for c in _calls(log)] == ["resident_records"]


def test_an_unreachable_mcp_server_leaves_the_employee_working(
    online: EmployeeRuntime, scripted_model: ScriptedModelServer
) -> None:
    broken = _transit_employee("bus-broken", "citizen", Path("/dev/null")).replace(
        str(SERVER), "/nonexistent/server.py"
    )
    define(online.db, broken, on_duty=True)
    scripted_model.push("请稍后再查询线路信息。")
    turn = say(online, online.start("bus-broken"), "K51 几点发车？")
    assert turn.content.startswith("请稍后再查询")
    assert "tools" not in scripted_model.chat_requests[0]


async def _exercise(client: Client) -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
    listed = await client.list_tools()
    due = await client.call_tool("working_day_deadline", {"start": "2024-09-27", "working_days": 5})
    refused = await client.call_tool("lookup_person", {"id_number": "11010519491231002X"})
    return sorted(t.name for t in listed.tools), due, refused


EXPECTED_TOOLS = [
    "check_id_number",
    "handoff",
    "knowledge_search",
    "pension_estimate",
    "working_day_deadline",
]


def _check(names: list[str], due: types.CallToolResult, refused: types.CallToolResult) -> None:
    assert names == EXPECTED_TOOLS
    assert not due.is_error and due.structured_content is not None
    assert due.structured_content["due_date"] == "2024-10-10"
    assert refused.is_error and "无权调用" in refused.content[0].text  # type: ignore[union-attr]


def test_employee_skills_served_over_an_in_memory_mcp_session(
    installed: Database, settings: Settings
) -> None:
    server = build_server(installed, settings, "social-insurance-clerk")

    async def session() -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
        async with Client(server, mode="legacy") as client:  # JSON-RPC over memory streams
            return await _exercise(client)

    _check(*anyio.run(session))
    [conversation] = conversation_of(installed, "social-insurance-clerk")
    with installed.session() as s:
        outcomes = s.scalars(
            select(AuditRecord.outcome).where(
                AuditRecord.action == "employee.skill",
                AuditRecord.target == f"conversation:{conversation.id}",
            )
        ).all()
    assert outcomes == ["success", "refused"]


def test_shuzhi_employees_mcp_serves_over_stdio(installed: Database, settings: Settings) -> None:
    # The MCP client starts the real command, as Claude Desktop or another MCP host would.
    code = "from shuzhi.cli.main import main; main()"
    env = {
        "SHUZHI_DATABASE_URL": settings.database_url or "",
        "SHUZHI_DATA_DIR": str(settings.data_dir),
        "SHUZHI_SECRET_KEY": "test-secret",
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", code, "employees", "mcp", "social-insurance-clerk"],
        env=env,
    )

    async def session() -> tuple[list[str], types.CallToolResult, types.CallToolResult]:
        async with Client(params, read_timeout_seconds=60) as client:
            return await _exercise(client)

    _check(*anyio.run(session))
    assert len(conversation_of(installed, "social-insurance-clerk")) == 1


def test_only_an_employee_on_duty_is_served(installed: Database, settings: Settings) -> None:
    from shuzhi.employees import service
    from shuzhi.errors import Conflict

    with installed.session() as s:
        service.transition(s, "social-insurance-clerk", "suspended", "zhao", "检修")
    with pytest.raises(Conflict, match="停岗"):
        build_server(installed, settings, "social-insurance-clerk")
