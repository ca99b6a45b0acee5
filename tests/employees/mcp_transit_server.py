"""A small MCP server over stdio for the tests: a public bus-line tool and a records tool.

Every call is appended to the file named by ``MCP_CALL_LOG``, so a test can prove that a tool
was never executed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import anyio
import mcp_types as types
from mcp import stdio_server
from mcp.server import Server

TOOLS = [
    types.Tool(
        name="bus_line",
        description="查询公交线路的首末班时间",
        input_schema={
            "type": "object",
            "properties": {"line": {"type": "string", "description": "线路名，如 K51"}},
            "required": ["line"],
        },
    ),
    types.Tool(
        name="resident_records",
        description="按身份证号读取居民档案",
        input_schema={"type": "object", "properties": {"id_number": {"type": "string"}}},
    ),
]


def _log(name: str, arguments: dict[str, Any]) -> None:
    with open(os.environ["MCP_CALL_LOG"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"tool": name, "arguments": arguments}, ensure_ascii=False) + "\n")


async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    arguments = params.arguments or {}
    _log(params.name, arguments)
    if params.name == "bus_line":
        data = {"line": arguments.get("line"), "first": "06:00", "last": "22:30"}
    else:
        data = {"records": "李四，1980年生，住幸福小区"}
    text = json.dumps(data, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=data
    )


async def main() -> None:
    server = Server("transit", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
