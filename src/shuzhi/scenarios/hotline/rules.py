"""The hotline's configurable rules: deadlines, types, urgency and the duty list (YAML files).

Defaults ship in ``data/rules.yaml`` and ``data/duty.yaml`` and cite the Jinan 12345 hotline
regulation; a deployment passes its own files to :func:`load_rules` (``rules_path``, ``duty_path``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shuzhi.errors import InvalidInput, pydantic_problem_zh
from shuzhi.scenarios.hotline._base import add_working_days
from shuzhi.scenarios.hotline.importing import BEIJING
from shuzhi.scenarios.hotline.records import Deadline
from shuzhi.scenarios.loader import line_of, parse_yaml, read_yaml_file

M = TypeVar("M", bound=BaseModel)

FROM_ACCEPTANCE = "留言时间缺失或无法识别，按导入受理时间起算"


class DeadlineRule(BaseModel):
    working_days: int
    article: str | None = None
    note: str = ""

    def basis(self, source: str) -> str:
        where = f"《{source.split('(')[0]}》{self.article}" if self.article else "本地工作规范"
        return f"{where}：{self.working_days}个工作日"


class TypeRule(BaseModel):
    code: str
    label: str
    article: str | None = None
    keywords: list[str] = []


class DeadlineRules(BaseModel):
    default: DeadlineRule
    by_type: dict[str, DeadlineRule] = {}
    by_urgency: dict[str, DeadlineRule] = {}
    statutory_longer_note: str = ""


class UrgencyRules(BaseModel):
    urgent: list[str] = []
    high: list[str] = []


class Citation(BaseModel):
    article: str
    summary: str


class RulesFile(BaseModel):
    source: str
    deadlines: DeadlineRules
    types: list[TypeRule]
    default_type: str = "help"
    urgency: UrgencyRules = UrgencyRules()
    citations: dict[str, Citation] = {}

    @property
    def title(self) -> str:
        return self.source.split("(")[0]


class DutyFile(BaseModel):
    default_unit: str
    units: dict[str, str]


@dataclass
class Rules:
    """Loaded rules plus the helpers that apply them."""

    file: RulesFile
    duty: DutyFile
    type_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.type_labels = {t.code: t.label for t in self.file.types}

    def handling_unit(self, category: str) -> str:
        return self.duty.units.get(category, self.duty.default_unit)

    def has_unit(self, category: str) -> bool:
        return category in self.duty.units

    def deadline(
        self,
        received: datetime | None,
        order_type: str,
        urgency: str,
        accepted: datetime | None = None,
    ) -> Deadline:
        """The due date counted from ``received``, or, when the message has no readable receipt
        time, from ``accepted`` (when the office took it in by importing it): an order with no
        due date can never be overdue, so it would wait unseen."""
        rule = self._deadline_rule(order_type, urgency)
        basis = rule.basis(self.file.source)
        if received is None and accepted is not None:
            received, basis = accepted, f"{basis}（{FROM_ACCEPTANCE}）"
        if received is None:
            return Deadline(None, rule.working_days, basis, ["没有受理时间，无法计算到期日"])
        start: date = received.astimezone(BEIJING).date()
        try:
            due, warnings = add_working_days(start, rule.working_days)
        except InvalidInput as exc:  # 9999-12-31, a "no date" value: this order, not the batch
            return Deadline(None, rule.working_days, basis, [f"{exc.message}，无法计算到期日"])
        return Deadline(due, rule.working_days, basis, warnings)

    def _deadline_rule(self, order_type: str, urgency: str) -> DeadlineRule:
        d = self.file.deadlines
        return d.by_urgency.get(urgency) or d.by_type.get(order_type) or d.default


def _read(path: Path | None, packaged: str, model: type[M]) -> M:
    """One rules file as ``model``; a mistake is one Chinese line naming the file and line."""
    if path is None:
        origin = f"热线规则文件 {packaged}（随软件提供）"
        text = resources.files(__package__).joinpath(f"data/{packaged}").read_text("utf-8")
    else:
        origin = f"热线规则文件 {path}"
        text = read_yaml_file(Path(path), "热线规则文件")
    data, node = parse_yaml(text, origin)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = line_of(node, loc)
        where = f" 第 {line} 行" if line is not None else ""
        field = ".".join(str(p) for p in loc) or "（整个文件）"
        raise InvalidInput(
            f"{origin}{where}：{field}：{pydantic_problem_zh(first)}",
            hint=f"对照随软件提供的 shuzhi/scenarios/hotline/data/{packaged} 修改",
        ) from exc


def load_rules(rules_path: Path | None = None, duty_path: Path | None = None) -> Rules:
    """The rules in force: the packaged defaults unless other files are given."""
    return Rules(
        _read(rules_path, "rules.yaml", RulesFile), _read(duty_path, "duty.yaml", DutyFile)
    )
