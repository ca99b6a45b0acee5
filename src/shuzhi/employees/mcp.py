"""MCP both ways: skills from MCP servers, and an employee's own skills served over MCP.

**Skills from MCP servers.** An employee definition may list MCP servers (``mcp_servers``: a
stdio ``command`` or a streamable-HTTP ``url``). Their tools become skills named
``mcp.<server>.<tool>`` with the permission level the definition gives them (``staff`` when it
says nothing: an unknown tool never reaches a citizen-facing employee by default). They are
called through :func:`shuzhi.employees.skills.ainvoke`, so the same ceiling applies and every call
is audited like a built-in one. One connection is opened per listing and per call: slower than a
pooled session, but nothing is left running when a conversation ends.

**An employee as an MCP server.** :func:`build_server` exposes the skills an employee may call
(its listed built-ins, within its audience's ceiling) as MCP tools; :func:`serve_employee_mcp` runs
it over stdio or streamable HTTP for ``shuzhi employees mcp ID``. Calls are recorded in a
conversation on the ``mcp`` channel and audited like the employee's own calls.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.server import Server
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.employees import service
from shuzhi.employees.definition import EmployeeDefinition, McpServer
from shuzhi.employees.skills import Level, Skill, SkillContext, ainvoke, allowed_skills
from shuzhi.errors import Conflict, InvalidInput, UpstreamError
from shuzhi.storage.db import Database
from shuzhi.storage.models import Conversation

log = logging.getLogger(__name__)

LIST_TTL_S = 300.0
_listed: dict[str, tuple[float, list[Skill]]] = {}


# -- skills from MCP servers ---------------------------------------------------------------------


def _client(server: McpServer) -> Client:
    if server.command is not None:
        params = StdioServerParameters(
            command=server.command[0], args=server.command[1:], env=server.env or None
        )
        return Client(params, read_timeout_seconds=server.timeout_s)
    assert server.url is not None
    return Client(server.url, read_timeout_seconds=server.timeout_s)


@asynccontextmanager
async def _connected(server: McpServer) -> AsyncIterator[Client]:
    try:
        async with _client(server) as client:
            yield client
    except UpstreamError:
        raise
    except Exception as exc:  # the SDK and transports raise many kinds; translate them once
        where = " ".join(server.command or []) or server.url
        raise UpstreamError(
            f"MCP 服务器 {server.name} 无法使用：{type(exc).__name__}",
            hint=f"检查员工定义中 mcp_servers 的 {where} 是否可用",
        ) from exc


def _result_dict(result: types.CallToolResult) -> dict[str, Any]:
    text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
    if result.is_error:
        return {"error": text or "MCP 工具返回错误"}
    if isinstance(result.structured_content, dict):
        return dict(result.structured_content)
    return {"text": text}


def _tool_skill(server: McpServer, tool: types.Tool) -> Skill:
    async def call(_ctx: SkillContext, arguments: dict[str, Any]) -> dict[str, Any]:
        async with _connected(server) as client:
            return _result_dict(await client.call_tool(tool.name, arguments))

    level = Level.parse(server.levels.get(tool.name, server.level))
    return Skill(
        name=f"mcp.{server.name}.{tool.name}",
        description=(tool.description or tool.title or tool.name)[:1000],
        args=None,
        level=level,
        fn=call,
        parameters=dict(tool.input_schema or {"type": "object", "properties": {}}),
        source=f"mcp:{server.name}",
    )


async def server_skills(server: McpServer) -> list[Skill]:
    """The tools ``server`` lists (restricted to ``tools`` when given), as skills. Cached."""
    key = server.model_dump_json()
    cached = _listed.get(key)
    if cached is not None and time.monotonic() - cached[0] < LIST_TTL_S:
        return cached[1]
    async with _connected(server) as client:
        listed = await client.list_tools()
    wanted = set(server.tools) if server.tools is not None else None
    skills = [_tool_skill(server, t) for t in listed.tools if wanted is None or t.name in wanted]
    _listed[key] = (time.monotonic(), skills)
    return skills


async def employee_mcp_skills(definition: EmployeeDefinition) -> list[Skill]:
    """Skills from every MCP server of ``definition``; a server that fails is left out (logged)."""
    found: list[Skill] = []
    for server in definition.mcp_servers:
        try:
            found += await server_skills(server)
        except UpstreamError as exc:
            log.warning("employee %s: %s", definition.id, exc.message)
    return found


# -- an employee as an MCP server ----------------------------------------------------------------


class _Exposed:
    """State of one served employee: its skills and the conversation that records the calls."""

    def __init__(self, db: Database, settings: Settings, slug: str, knowledge: Any) -> None:
        self.db, self.settings, self.slug, self.knowledge = db, settings, slug, knowledge
        with db.session() as session:
            loaded = service.load(session, slug)
            if loaded.row.status != "on_duty":
                label = service.STATE_LABELS.get(loaded.row.status, loaded.row.status)
                raise Conflict(f"数智员工 {slug} 当前为“{label}”，不能作为 MCP 服务提供")
            self.definition = loaded.definition
            self.employee_id, self.version = loaded.row.id, loaded.row.current_version
            self.department_id = loaded.row.department_id
        self.skills = allowed_skills(self.definition.skills, self.definition.audience)
        self.conversation_id: int | None = None

    def tools(self) -> list[types.Tool]:
        return [
            types.Tool(name=s.name, description=s.description, input_schema=s.json_schema())
            for s in self.skills
        ]

    def _conversation(self, session: Any) -> int:
        if self.conversation_id is not None:
            return self.conversation_id
        import uuid

        row = Conversation(
            public_id=str(uuid.uuid4()),
            employee_id=self.employee_id,
            employee_version=self.version,
            department_id=self.department_id,
            channel="mcp",
            vault={},
        )
        session.add(row)
        session.flush()
        self.conversation_id = row.id
        return row.id

    async def call(self, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        with self.db.session() as session:
            ctx = SkillContext(
                db=self.db,
                settings=self.settings,
                session=session,
                employee_slug=self.slug,
                department_id=self.department_id,
                conversation_id=self._conversation(session),
                knowledge_bases=self.definition.knowledge_bases,
                knowledge=self.knowledge,
                handoff_hours=self.definition.handoff.due_in_hours,
                audience=self.definition.audience,
            )
            return await ainvoke(ctx, self.skills, name, arguments or {})


def build_server(
    db: Database, settings: Settings, slug: str, *, knowledge: Any = None
) -> Server[Any]:
    """A low-level MCP server exposing the skills employee ``slug`` may call."""
    exposed = _Exposed(db, settings, slug, knowledge)

    async def list_tools(
        _ctx: Any, _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=exposed.tools())

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        output = await exposed.call(params.name, params.arguments)
        text = json.dumps(output, ensure_ascii=False, default=str)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structured_content=json.loads(text),
            is_error="error" in output,
        )

    return Server(
        f"shuzhi-{slug}",
        version="1",
        instructions=f"{exposed.definition.name}（{exposed.definition.department.name}）的技能",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_employee_mcp(
    slug: str,
    settings: Settings,
    transport: str = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve employee ``slug``'s skills over MCP until interrupted (``shuzhi employees mcp``).

    ``transport`` is ``stdio`` (for a local MCP client that starts this process) or
    ``streamable-http`` (at ``http://host:port/mcp``).
    """
    import anyio

    from shuzhi.knowledge import KnowledgeService
    from shuzhi.storage.setup import open_database

    if transport not in ("stdio", "streamable-http"):
        raise InvalidInput(f"未知的 MCP 传输方式 {transport}", hint="可选：stdio、streamable-http")
    db = open_database(settings)
    server = build_server(db, settings, slug, knowledge=KnowledgeService(db, settings))
    if transport == "stdio":
        anyio.run(_run_stdio, server)
        return
    import uvicorn

    uvicorn.run(server.streamable_http_app(host=host), host=host, port=port, log_level="warning")


async def _run_stdio(server: Server[Any]) -> None:
    from mcp import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def conversation_of(db: Database, employee_slug: str) -> list[Conversation]:
    """The MCP-channel conversations of an employee (where served calls are recorded)."""
    with db.session() as session:
        row = service.load(session, employee_slug).row
        return list(
            session.scalars(
                select(Conversation).where(
                    Conversation.employee_id == row.id, Conversation.channel == "mcp"
                )
            )
        )
