"""The scenario definition format: what a YAML file under ``catalogue/<field>/`` may say.

Pydantic models validate a definition once, when it is loaded; the engine then trusts it. Every
expression and template in a definition is parsed at load time, so a typo fails the load with the
file and line instead of failing a clerk's run later.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.expr import compile_expr, template_exprs
from shuzhi.scenarios.numbers import MAX_NUMBER, TooLarge, parse_number
from shuzhi.validation import Name

IDENT = r"^[a-z_][a-z0-9_]*$"
SCENARIO_ID = r"^[a-z]+\.[a-z0-9][a-z0-9-]*$"


class FieldId(StrEnum):
    """The nine fields of the catalogue (stable English ids; Chinese names for people)."""

    APPROVAL = "approval"
    SOCIAL = "social"
    SAFETY = "safety"
    TRADING = "trading"
    HOTLINE = "hotline"
    MARKET = "market"
    URBAN = "urban"
    DATA = "data"
    OFFICE = "office"


FIELD_NAMES_ZH: dict[FieldId, str] = {
    FieldId.APPROVAL: "行政审批与政务服务",
    FieldId.SOCIAL: "社会保障",
    FieldId.SAFETY: "公共安全",
    FieldId.TRADING: "公共资源交易",
    FieldId.HOTLINE: "12345热线",
    FieldId.MARKET: "市场监管",
    FieldId.URBAN: "城市管理",
    FieldId.DATA: "数据治理/AI数据官",
    FieldId.OFFICE: "机关办公",
}


class HumanGate(StrEnum):
    """Who confirms a result before it takes effect."""

    NONE = "none"  # information only: an answer, a check the clerk reads
    APPROVE_BEFORE_EFFECT = "approve_before_effect"  # a named reviewer decides (a ReviewTask)
    CITIZEN_CONFIRMS = "citizen_confirms"  # the applicant confirms a pre-filled form
    SAMPLED_AFTER = "sampled_after"  # takes effect; a share is reviewed afterwards


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_expr(value: str) -> str:
    # Raised as ValueError so pydantic reports it with the field's location.
    try:
        compile_expr(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from exc
    return value


def _check_template(value: str) -> str:
    for inner in template_exprs(value):
        _check_expr(inner)
    return value


class Names(_Strict):
    zh: Name = Field(min_length=2)
    en: Name = Field(min_length=2)


class Source(_Strict):
    """The legal source of a rule: a law or regulation and an article (or a standard clause)."""

    law: str = Field(min_length=2)
    article: str = Field(min_length=2)

    def cite(self) -> str:
        return f"《{self.law}》{self.article}"


InputType = Literal["string", "text", "integer", "number", "boolean", "date", "list", "object"]


_NUMERIC_ZH = {"integer": "整数", "number": "数值"}


class InputSpec(_Strict):
    name: str = Field(pattern=IDENT)
    type: InputType = "string"
    label: str = ""
    required: bool = True
    default: Any = None
    choices: list[str | int | float] | None = None
    pattern: str | None = None
    min: float | None = Field(default=None, description="integer / number 的下限（含）")
    max: float | None = Field(default=None, description="integer / number 的上限（含）")
    hint: str = ""

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # A NaN bound would refuse every value ("不能小于 nan"); an infinite one means no bound.
        if value is not None and not math.isfinite(value):
            raise ValueError(f"min / max 应为有限数值，收到 {value}；不设上下限请删去该项")
        return value

    @model_validator(mode="after")
    def _range(self) -> InputSpec:
        if self.min is not None or self.max is not None:
            if self.type not in ("integer", "number"):
                raise ValueError(f"输入 {self.name} 是 {self.type} 类型，min / max 只用于数值输入")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(f"输入 {self.name} 的 min（{self.min:g}）大于 max（{self.max:g}）")
        if self.default is not None and self.type in ("integer", "number"):
            self._check_numeric_default()
        return self

    def _check_numeric_default(self) -> None:
        """The default is used as if the caller had typed it: it must pass the same checks."""
        try:
            number = parse_number(self.default)
        except TooLarge:
            limit = f"{MAX_NUMBER:,.0f}"
            raise ValueError(
                f"输入 {self.name} 的默认值 {self.default!r} 过大（绝对值不能超过 {limit}）"
            ) from None
        except ValueError:
            raise ValueError(
                f"输入 {self.name} 的默认值 {self.default!r} 不是{_NUMERIC_ZH[self.type]}"
            ) from None
        if self.type == "integer" and not isinstance(number, int):
            raise ValueError(f"输入 {self.name} 的默认值 {self.default!r} 不是整数")
        if not self.within(number):
            raise ValueError(f"输入 {self.name} 的默认值 {self.default!r} {self.range_zh()}")
        if self.choices is not None and number not in self.choices:
            raise ValueError(f"输入 {self.name} 的默认值 {self.default!r} 不在 choices 之中")

    def within(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def range_zh(self) -> str:
        """The allowed range as a clerk reads it, e.g. "应在 0 到 100 之间"."""
        if self.min is not None and self.max is not None:
            return f"应在 {self.min:g} 到 {self.max:g} 之间"
        return f"不能小于 {self.min:g}" if self.min is not None else f"不能大于 {self.max:g}"


class _Step(_Strict):
    id: str | None = Field(default=None, pattern=IDENT)
    when: str | None = None
    model: bool = Field(default=False, description="Use the model base when one is configured.")

    _w = field_validator("when")(lambda v: v if v is None else _check_expr(v))


class Pattern(_Strict):
    regex: str
    all: bool = False
    type: Literal["string", "number", "date"] = "string"

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class ExtractStep(_Step):
    kind: Literal["extract"]
    source: str
    fields: dict[str, Pattern | str]

    _s = field_validator("source")(_check_expr)

    @field_validator("fields")
    @classmethod
    def _names(cls, value: dict[str, Pattern | str]) -> dict[str, Pattern | str]:
        for name, pattern in value.items():
            if not re.match(IDENT, name):
                raise ValueError(f"字段名 {name!r} 只能用小写字母、数字和下划线")
            if isinstance(pattern, str):
                re.compile(pattern)
        return value


class ClassifyStep(_Step):
    kind: Literal["classify"]
    source: str
    labels: dict[str, list[str]] = Field(min_length=2)
    default: str
    into: str = Field(pattern=IDENT)

    _s = field_validator("source")(_check_expr)


class RetrieveStep(_Step):
    kind: Literal["retrieve"]
    query: str
    kbs: list[str] = Field(default_factory=list)
    k: int = Field(default=3, ge=1, le=20)
    into: str = Field(default="passages", pattern=IDENT)

    _q = field_validator("query")(_check_expr)


class CheckRulesStep(_Step):
    kind: Literal["check_rules"]
    table: str = Field(pattern=IDENT)
    into: str | None = Field(default=None, pattern=IDENT)


class ComputeStep(_Step):
    kind: Literal["compute"]
    set: dict[str, str] = Field(min_length=1)

    @field_validator("set")
    @classmethod
    def _exprs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not re.match(IDENT, name):
                raise ValueError(f"输出名 {name!r} 只能用小写字母、数字和下划线")
            _check_expr(str(source))
        return {k: str(v) for k, v in value.items()}


class DraftStep(_Step):
    kind: Literal["draft"]
    template: str
    instruction: str = ""
    into: str = Field(default="draft", pattern=IDENT)

    _t = field_validator("template")(_check_template)


class ReviewStep(_Step):
    kind: Literal["review"]
    require_if: str
    reason: str

    _r = field_validator("require_if")(_check_expr)
    _m = field_validator("reason")(_check_template)


class NotifyStep(_Step):
    kind: Literal["notify"]
    to: str
    channel: Literal["sms", "message", "email", "work_order", "system"] = "message"
    message: str

    _m = field_validator("message")(_check_template)
    _t = field_validator("to")(_check_template)


Step = Annotated[
    ExtractStep
    | ClassifyStep
    | RetrieveStep
    | CheckRulesStep
    | ComputeStep
    | DraftStep
    | ReviewStep
    | NotifyStep,
    Field(discriminator="kind"),
]


class RuleRow(_Strict):
    """One row of a decision table. It fires when ``when`` is true; it must cite its source."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    when: str
    then: dict[str, Any] = Field(default_factory=dict)
    message: str = ""
    source: Source

    _w = field_validator("when")(_check_expr)
    _m = field_validator("message")(_check_template)


class DecisionTable(_Strict):
    """``first``: the first row that fires decides. ``collect``: every row that fires counts."""

    hit: Literal["first", "collect"] = "collect"
    description: str = ""
    rows: list[RuleRow] = Field(min_length=1)
    default: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_rows(self) -> DecisionTable:
        ids = [r.id for r in self.rows]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"规则编号重复：{', '.join(dupes)}")
        return self


class Passage(_Strict):
    """A short excerpt the scenario ships for offline retrieval: paraphrased, with its source."""

    text: str = Field(min_length=4)
    source: Source
    keywords: list[str] = Field(default_factory=list)


class Expectation(_Strict):
    outputs: dict[str, Any] = Field(default_factory=dict)
    contains: dict[str, list[str] | str] = Field(default_factory=dict)
    fired: list[str] = Field(default_factory=list)
    not_fired: list[str] = Field(default_factory=list)
    needs_review: bool | None = None
    error: str | None = None


class Case(_Strict):
    name: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    expect: Expectation


MAX_ASKS = 40
ASK_LENGTH = (2, 80)


def _ask(value: str) -> str:
    said = value.strip()
    low, high = ASK_LENGTH
    if not low <= len(said) <= high:
        raise ValueError(f"应为 {low} 到 {high} 个字的一句话，收到 {len(said)} 个字")
    return said


Ask = Annotated[Name, AfterValidator(_ask)]
"""One citizen's phrasing of what they want: a sentence, trimmed."""


class ScenarioDef(_Strict):
    """A scenario: a concrete job served by one digital employee under one department."""

    id: str = Field(pattern=SCENARIO_ID)
    version: int = Field(default=1, ge=1)
    field: FieldId
    name: Names
    description: str = ""
    department: Name = Field(min_length=2)
    employee: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    manual_minutes: float = Field(gt=0, description="Minutes a person needs for it by hand.")
    flagship: bool = False
    tags: list[str] = Field(default_factory=list)
    audience: Literal["citizen", "staff"] = Field(
        default="staff", description="谁来找它：citizen 群众和企业会来办，staff 只有工作人员用"
    )
    asks: list[Ask] = Field(default_factory=list, description="群众的说法，供一网通办前台分派")
    inputs: list[InputSpec] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    knowledge_bases: list[str] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    rules: dict[str, DecisionTable] = Field(default_factory=dict)
    human_gate: HumanGate = HumanGate.NONE
    sample_rate: float = Field(default=0.0, ge=0, le=1)
    outputs: list[str] = Field(min_length=1)
    cases: list[Case] = Field(min_length=3)

    @field_validator("asks")
    @classmethod
    def _asks(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_ASKS:
            raise ValueError(f"最多 {MAX_ASKS} 条，收到 {len(value)} 条；留下最常见的说法")
        for i, ask in enumerate(value):
            if ask in value[:i]:
                raise ValueError(f"第 {i + 1} 条“{ask}”与第 {value.index(ask) + 1} 条重复")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioDef:
        if self.id.split(".", 1)[0] != self.field.value:
            raise ValueError(f"场景编号 {self.id} 应以领域 {self.field.value}. 开头")
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError("输入名重复")
        for step in self.steps:
            if isinstance(step, CheckRulesStep) and step.table not in self.rules:
                raise ValueError(f"步骤引用了不存在的规则表 {step.table}")
        if self.human_gate == HumanGate.SAMPLED_AFTER and self.sample_rate == 0:
            raise ValueError("human_gate 为 sampled_after 时需设置 sample_rate（如 0.1）")
        return self

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    def rule_sources(self) -> list[Source]:
        return [row.source for table in self.rules.values() for row in table.rows]
