"""Typed inputs: coerce what a caller sends into the types a scenario declares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.definition import InputSpec, ScenarioDef
from shuzhi.scenarios.functions import to_date
from shuzhi.scenarios.numbers import MAX_NUMBER, TooLarge, parse_number
from shuzhi.validation import control_problem

_TYPE_ZH = {
    "string": "文本",
    "text": "文本",
    "integer": "整数",
    "number": "数值",
    "boolean": "是/否",
    "date": "日期（如 2024-03-01）",
    "list": "列表",
    "object": "对象",
}


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, tuples and sets as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def coerce_inputs(scenario: ScenarioDef, given: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert ``given``; one error lists every problem, in Chinese, with the fix."""
    if not isinstance(given, Mapping):
        raise InvalidInput("输入应为键值对象（JSON 对象）", hint=f"可用输入：{_names(scenario)}")
    problems: list[str] = []
    unknown = sorted(set(given) - set(scenario.input_names))
    if unknown:
        problems.append(f"未知输入 {', '.join(unknown)}（可用输入：{_names(scenario)}）")
    values: dict[str, Any] = {}
    for spec in scenario.inputs:
        try:
            values[spec.name] = _coerce(spec, given.get(spec.name))
        except InvalidInput as exc:
            problems.append(exc.message)
    if problems:
        raise InvalidInput(
            f"场景「{scenario.name.zh}」的输入有误：" + "；".join(problems),
            hint="按提示修改输入后重试",
            problems=problems,
        )
    return values


def _names(scenario: ScenarioDef) -> str:
    return "、".join(scenario.input_names)


def _label(spec: InputSpec) -> str:
    return f"{spec.name}（{spec.label}）" if spec.label else spec.name


def _coerce(spec: InputSpec, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip() and spec.type != "text"):
        if spec.required and spec.default is None:
            raise InvalidInput(
                f"缺少必填输入 {_label(spec)}" + (f"：{spec.hint}" if spec.hint else "")
            )
        if spec.default is None:
            return None
        # The definition load checked the default; converting it here gives it the input's type.
        raw = spec.default
    value = _convert(spec, raw)
    if isinstance(value, int | float) and not isinstance(value, bool) and not spec.within(value):
        raise InvalidInput(f"{_label(spec)} {spec.range_zh()}，收到 {raw!r}")
    if spec.choices is not None and value not in spec.choices:
        raise InvalidInput(
            f"{_label(spec)} 只能是 {'、'.join(map(str, spec.choices))} 之一，收到 {raw!r}"
        )
    if spec.pattern and not re.fullmatch(spec.pattern, str(value)):
        raise InvalidInput(
            f"{_label(spec)} 格式不对，收到 {raw!r}" + (f"；{spec.hint}" if spec.hint else "")
        )
    return value


def _convert(spec: InputSpec, raw: Any) -> Any:
    wrong = InvalidInput(f"{_label(spec)} 应为{_TYPE_ZH[spec.type]}，收到 {raw!r}")
    kind = spec.type
    if kind in ("string", "text"):
        if isinstance(raw, dict | list):
            raise wrong
        problem = control_problem(str(raw), multiline=True)
        if problem is not None:
            raise InvalidInput(f"{_label(spec)} {problem}")
        return str(raw).strip() if kind == "string" else str(raw)
    if kind == "boolean":
        return _boolean(raw, wrong)
    if kind in ("integer", "number"):
        return _numeric(spec, raw, wrong)
    if kind == "date":
        try:
            return to_date(raw)
        except InvalidInput as exc:
            raise InvalidInput(f"{_label(spec)}：{exc.message}，日期请写成 2024-03-01") from exc
    if kind == "list":
        if not isinstance(raw, list):
            raise wrong
        return raw
    if not isinstance(raw, Mapping):
        raise wrong
    return dict(raw)


def _boolean(raw: Any, wrong: InvalidInput) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "是", "y"):
        return True
    if text in ("false", "0", "no", "否", "n"):
        return False
    raise wrong


def _numeric(spec: InputSpec, raw: Any, wrong: InvalidInput) -> int | float:
    try:
        number = parse_number(raw)
    except TooLarge:
        raise InvalidInput(
            f"{_label(spec)} 数值过大（绝对值不能超过 {MAX_NUMBER:,.0f}），收到 {raw!r}"
        ) from None
    except ValueError:
        raise wrong from None
    if spec.type == "integer" and not isinstance(number, int):
        raise wrong
    # Whole numbers come back as integers, so drafts read "3年" rather than "3.0年".
    return number
