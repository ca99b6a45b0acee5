"""Read scenario YAML, reporting every problem with its file, field path and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shuzhi.cn.encoding import decode_bytes
from shuzhi.errors import InvalidInput, os_error_zh, pydantic_problem_zh, yaml_error_zh
from shuzhi.scenarios.definition import ScenarioDef

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What decode_bytes names when it is sure: a byte-order mark, strict UTF-8 or strict GB18030.
# Anything else is charset-normalizer's guess, too weak for a file that defines behaviour.
_CERTAIN_ENCODINGS = {"utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030"}
_SAVE_AS_UTF8 = "请在编辑器中把文件另存为 UTF-8 编码后重试"


def read_yaml_file(path: Path, what: str) -> str:
    """The text of a definition file saved as UTF-8 (with or without a BOM) or GBK/GB18030.

    Clerks on Windows often save YAML as GBK; it is decoded the way knowledge ingestion decodes
    uploads. A file whose encoding cannot be told for certain is refused rather than guessed.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取{what} {path}：{os_error_zh(exc)}", hint="确认路径") from exc
    try:
        text, encoding = decode_bytes(data)
    except InvalidInput as exc:
        raise InvalidInput(f"无法识别{what} {path} 的文字编码", hint=_SAVE_AS_UTF8) from exc
    if encoding not in _CERTAIN_ENCODINGS:
        raise InvalidInput(
            f"{what} {path} 既不是 UTF-8 也不是 GBK/GB18030 编码（像是 {encoding}）",
            hint=_SAVE_AS_UTF8,
        )
    return text


def parse_yaml(text: str, origin: str) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree (which keeps line numbers), from one parse."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _refuse_duplicate_keys(node, origin)
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        raise InvalidInput(f"{origin}：{yaml_error_zh(exc)}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{origin} YAML 格式错误：{yaml_error_zh(exc)}") from exc
    except ValueError as exc:  # an impossible date such as 2024-02-30
        bad = _impossible_date(node)
        where = f" 第 {bad.start_mark.line + 1} 行" if bad is not None else ""
        value = f" {bad.value} " if bad is not None else ""
        raise InvalidInput(
            f"{origin}{where}：日期{value}不存在", hint="改正日期；不是日期的值请加引号"
        ) from exc
    finally:
        loader.dispose()
    return data, node


def _impossible_date(node: yaml.Node | None) -> yaml.ScalarNode | None:
    """The first value written as a date that is no date (PyYAML says only "day is out of
    range for month", with no place)."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop(0)
        if isinstance(current, yaml.ScalarNode) and current.tag.endswith(":timestamp"):
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(current)
            except ValueError:
                return current
        elif isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def _refuse_duplicate_keys(node: yaml.Node, origin: str) -> None:
    """A key given twice would silently keep the last value: say where instead."""
    stack, visited = [node], set()
    while stack:
        current = stack.pop()
        if id(current) in visited:  # an alias points back at a node already checked
            continue
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                name = getattr(key, "value", None)
                if isinstance(name, str) and name in seen:
                    line = key.start_mark.line + 1
                    raise InvalidInput(
                        f"{origin} 第 {line} 行：字段 {name} 重复出现", hint="删除重复的一项"
                    )
                if isinstance(name, str):
                    seen.add(name)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the value at ``loc`` in the node tree (or of its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == str(part)]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def validation_problems(
    exc: ValidationError, node: yaml.Node | None, origin: str, prefix: tuple[int | str, ...] = ()
) -> list[str]:
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        line = line_of(node, prefix + loc)
        path = ".".join(str(p) for p in loc) or "（整个文件）"
        problems.append(f"{origin}:{line or '?'} 字段 {path}：{pydantic_problem_zh(error)}")
    return problems


def _is_union_tag(part: int | str) -> bool:
    # Discriminated unions add the tag (e.g. "check_rules") to the location; it is no key.
    return isinstance(part, str) and part in {
        "extract",
        "classify",
        "retrieve",
        "check_rules",
        "compute",
        "draft",
        "review",
        "notify",
    }


def scenario_from_data(
    data: Any, node: yaml.Node | None, origin: str, prefix: tuple[int | str, ...] = ()
) -> ScenarioDef:
    if not isinstance(data, dict):
        raise InvalidInput(f"{origin}：场景定义应是一个键值映射（YAML 对象）")
    try:
        return ScenarioDef.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, node, origin, prefix)
        raise InvalidInput(
            "场景定义有误：\n" + "\n".join(problems),
            hint="按提示修改 YAML 后重新加载；格式说明见 docs/scenario-authoring.md",
            problems=problems,
        ) from exc


def load_scenario_file(path: Path) -> ScenarioDef:
    data, node = parse_yaml(read_yaml_file(path, "场景定义文件"), str(path))
    return scenario_from_data(data, node, str(path))
