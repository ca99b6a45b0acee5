"""An employee's definition: the YAML an operator writes, validated with file, field and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.loader import parse_yaml, read_yaml_file, validation_problems
from shuzhi.validation import Name, Text

SLUG = r"^[a-z][a-z0-9-]{1,63}$"
BUILTIN_DIR = Path(__file__).parent / "definitions"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentRef(Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")
    name: Name = Field(min_length=1, max_length=200)


class Guardrails(Strict):
    sensitive_words: list[Name] = Field(default_factory=list)
    sensitive_words_file: str | None = None
    out_of_scope: list[Name] = Field(
        default_factory=list, description="话题关键词：命中即礼貌拒绝并说明本员工的职责"
    )
    max_turns: int = Field(default=40, ge=1, le=1000)
    max_tokens: int = Field(default=60_000, ge=100)
    max_tool_calls: int = Field(default=8, ge=0, le=100)


class Handoff(Strict):
    keywords: list[Name] = Field(
        default_factory=lambda: ["转人工", "人工客服", "找人工", "人工服务"]
    )
    when_unanswered: bool = Field(default=True, description="知识库无依据时主动提供转人工")
    due_in_hours: int = Field(default=4, ge=1, le=24 * 30)


# A tool from an MCP server is code the platform cannot inspect, and it cannot be bound to the
# authenticated citizen the way built-in "own records" skills are, so ``citizen_own`` is not
# offered. Undeclared tools default to ``staff``: the lowest level that keeps an unknown tool
# away from citizen-facing employees while staff-facing ones can still use it.
McpLevel = Literal["public", "staff", "privileged"]


class McpServer(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="技能名前缀 mcp.<name>.")
    command: list[str] | None = Field(default=None, description="stdio 方式：程序及参数")
    url: str | None = Field(default=None, pattern=r"^https?://", description="streamable HTTP")
    env: dict[str, str] = Field(default_factory=dict)
    tools: list[str] | None = Field(default=None, description="只用这些工具；空则用全部")
    level: McpLevel = Field(default="staff", description="未单独声明的工具的权限级别")
    levels: dict[str, McpLevel] = Field(default_factory=dict, description="按工具声明权限级别")
    timeout_s: float = Field(default=20.0, gt=0, le=600)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("command（stdio）和 url（streamable HTTP）须填且只填一个")
        if self.command is not None and not self.command:
            raise ValueError("command 不能为空列表")
        return self


class OfflineSkill(Strict):
    skill: str = Field(min_length=1)
    keywords: list[str] = Field(
        default_factory=list, description="消息含任一关键词时离线调用；为空则兜底调用"
    )
    arguments: Literal["none", "message"] = Field(
        default="none", description="message：把群众原话作为 text 参数传入"
    )


class EmployeeDefinition(Strict):
    id: str = Field(pattern=SLUG)
    name: Name = Field(min_length=1, max_length=200)
    department: DepartmentRef
    role: Text = Field(min_length=1, description="职责说明，进入系统提示词")
    greeting: Text = ""
    model: Name | None = Field(default=None, description="模型别名；空则用默认别名")
    audience: str = Field(default="citizen", pattern="^(citizen|staff)$")
    skills: list[Name] = Field(default_factory=list)
    knowledge_bases: list[Name] = Field(default_factory=list)
    scenarios: list[Name] = Field(default_factory=list)
    examples: list[Text] = Field(default_factory=list, description="典型诉求，用于前台分派")
    front_desk: bool = False
    answer_scenario: str | None = Field(
        default=None, description="离线答问所用的场景（须有一个文本输入，见 answer_input）"
    )
    answer_input: str = "question"
    citation_required: bool = True
    guardrails: Guardrails = Field(default_factory=Guardrails)
    handoff: Handoff = Field(default_factory=Handoff)
    mcp_servers: list[McpServer] = Field(default_factory=list)
    offline_skills: list[OfflineSkill] = Field(
        default_factory=list, description="无模型时按关键词调用的技能（须同时列在 skills 中）"
    )

    @field_validator("mcp_servers")
    @classmethod
    def _unique_servers(cls, servers: list[McpServer]) -> list[McpServer]:
        names = [m.name for m in servers]
        if len(names) != len(set(names)):
            raise ValueError("mcp_servers 的 name 不能重复")
        return servers

    @field_validator("offline_skills")
    @classmethod
    def _offline_skills_listed(
        cls, offline: list[OfflineSkill], info: ValidationInfo
    ) -> list[OfflineSkill]:
        listed = info.data.get("skills") or []
        missing = [o.skill for o in offline if o.skill not in listed]
        if missing:
            raise ValueError(f"这些技能须同时列在 skills 中：{'、'.join(missing)}")
        return offline


def definition_from_text(text: str, origin: str) -> EmployeeDefinition:
    data, node = parse_yaml(text, origin)
    if not isinstance(data, dict):
        raise InvalidInput(f"{origin}：员工定义应是一个键值映射（YAML 对象）")
    return definition_from_data(data, origin, node)


def definition_from_data(
    data: dict[str, Any], origin: str = "员工定义", node: Any = None
) -> EmployeeDefinition:
    try:
        return EmployeeDefinition.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, node, origin)
        raise InvalidInput(
            "员工定义有误：\n" + "\n".join(problems),
            hint="按提示修改后重新提交；格式说明见 docs/employees.md",
            problems=problems,
        ) from exc


def load_definition_file(path: Path) -> EmployeeDefinition:
    return definition_from_text(read_yaml_file(path, "员工定义文件"), str(path))


def builtin_definitions() -> list[EmployeeDefinition]:
    return [load_definition_file(p) for p in sorted(BUILTIN_DIR.glob("*.yaml"))]
