"""The colloquial → legal thesaurus: citizens' words, expanded into the law's before a search.

The shipped entries are ``data/colloquial.yaml``. A deployment keeps its own entries in a file of
its own (setting ``kb_thesaurus``; by default ``<data_dir>/kb_thesaurus.yaml`` when it exists),
merged over the shipped ones when the service starts: an entry there replaces the shipped entry of
the same key, ``key: []`` switches a shipped entry off, so an upgrade never needs local entries
merged by hand.

A key fires only where it stands as whole words of the question: both of its ends fall on word
boundaries of the question's segmentation. 老楼 fires in 老楼漏水 but not in 老楼道, 新招 not in
重新招标, 告他 not in 报告他们. Keys that keep their meaning inside longer words (工资 in 月工资,
社保 in 社保局) say so with ``substring: true``. A key that starts or ends with a digit never fires
inside a longer number (60天 not in 160天), whatever the entry says.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from shuzhi.errors import ConfigError, InvalidInput
from shuzhi.knowledge._text import word_bounds

if TYPE_CHECKING:
    from shuzhi.config import Settings

SHIPPED = "data/colloquial.yaml"
DEFAULT_OVERLAY = "kb_thesaurus.yaml"  # in the data directory
BOOLEANS = ("true", "false")
FORMAT_HINT = (
    "每项一行：口语词: [法律用语, …]；在较长的词中也算数的写成 "
    "口语词: {terms: [法律用语], substring: true}；停用随附的某一项写成 口语词: []"
)


@dataclass(frozen=True)
class Entry:
    """The legal terms a colloquial key adds, and whether it also fires inside longer words."""

    terms: tuple[str, ...]
    substring: bool = False


class Thesaurus:
    """Colloquial keys → legal terms, matched by the rule in the module docstring."""

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self.entries = dict(entries)

    def expand(self, text: str) -> list[str]:
        """Legal terms for the colloquial words in ``text`` (to be searched beside its own)."""
        extra: dict[str, None] = {}
        bounds: set[int] | None = None
        for key, entry in self.entries.items():
            if key not in text:
                continue
            if not entry.substring and bounds is None:
                bounds = word_bounds(text)
            if any(_fires(key, entry, text, start, bounds) for start in _starts(text, key)):
                for term in entry.terms:
                    extra.setdefault(term, None)
        return list(extra)


def _starts(text: str, key: str) -> Iterator[int]:
    start = text.find(key)
    while start >= 0:
        yield start
        start = text.find(key, start + 1)


def _fires(key: str, entry: Entry, text: str, start: int, bounds: set[int] | None) -> bool:
    end = start + len(key)
    if key[0].isdecimal() and start > 0 and text[start - 1].isdecimal():
        return False  # 60天 inside 160天
    if key[-1].isdecimal() and end < len(text) and text[end].isdecimal():
        return False  # 12345 inside 123456
    return entry.substring or (bounds is not None and start in bounds and end in bounds)


@lru_cache(maxsize=1)
def shipped() -> Thesaurus:
    """The thesaurus shipped in ``data/colloquial.yaml``."""
    text = files("shuzhi.knowledge").joinpath(SHIPPED).read_text(encoding="utf-8")
    return Thesaurus(entries(yaml.compose(text), "colloquial.yaml"))


def overlay_path(settings: Settings) -> Path | None:
    """The deployment's own thesaurus file: the setting, else the data directory's if present."""
    if settings.kb_thesaurus is not None:
        return settings.kb_thesaurus
    default = settings.data_dir / DEFAULT_OVERLAY
    return default if default.is_file() else None


def for_settings(settings: Settings) -> Thesaurus:
    """The shipped thesaurus with the deployment's file merged over it.

    A file that cannot be read or does not have the expected shape raises ConfigError naming
    the file and the line.
    """
    path = overlay_path(settings)
    return shipped() if path is None else merged(shipped(), load_overlay(path))


def merged(base: Thesaurus, own: Mapping[str, Entry]) -> Thesaurus:
    """``base`` with ``own`` over it: same keys replaced, keys without terms removed."""
    combined = dict(base.entries)
    for key, entry in own.items():
        if entry.terms:
            combined[key] = entry
        else:
            combined.pop(key, None)
    return Thesaurus(combined)


def load_overlay(path: Path) -> dict[str, Entry]:
    """The entries of a deployment's thesaurus file (UTF-8 or GBK)."""
    # The scenario loader's YAML reading (encodings, line numbers, duplicate keys) is reused; it
    # is imported here because the scenarios package is large and most deployments have no file.
    from shuzhi.scenarios.loader import parse_yaml, read_yaml_file

    origin = f"同义词表 {path}"
    try:
        _, node = parse_yaml(read_yaml_file(path, "同义词表"), origin)
        return entries(node, origin, overlay=True)
    except InvalidInput as exc:
        raise ConfigError(exc.message, hint=exc.hint or FORMAT_HINT) from exc


def entries(node: yaml.Node | None, origin: str, *, overlay: bool = False) -> dict[str, Entry]:
    """Entries from a parsed thesaurus file; a bad one raises InvalidInput with its line.

    Only an overlay may give a key no terms (it switches the shipped entry off).
    """
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise _bad(node, origin, "整个文件应是“口语词: [法律用语, …]”的列表")
    found: dict[str, Entry] = {}
    for key_node, value in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str) or not key.strip():
            raise _bad(key_node, origin, "口语词应是一个词")
        if key in found:
            raise _bad(key_node, origin, f"口语词“{key}”重复出现")
        entry = _entry(key, value, origin)
        if not entry.terms and not overlay:
            raise _bad(value, origin, f"口语词“{key}”没有对应的法律用语")
        found[key] = entry
    return found


def _entry(key: str, node: yaml.Node, origin: str) -> Entry:
    if isinstance(node, yaml.SequenceNode):
        return Entry(_terms(key, node, origin))
    if not isinstance(node, yaml.MappingNode):
        raise _bad(node, origin, f"“{key}”后应是方括号中的法律用语，如 {key}: [法律用语]")
    fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    unknown = sorted(set(fields) - {"terms", "substring"})
    if unknown or len(fields) != len(node.value):
        extra = f"，多了 {'、'.join(unknown)}" if unknown else ""
        raise _bad(node, origin, f"“{key}”只能写 terms 和 substring 两项{extra}")
    terms = fields.get("terms")
    if not isinstance(terms, yaml.SequenceNode):
        raise _bad(terms or node, origin, f"“{key}”的 terms 应是方括号中的法律用语")
    flag = fields.get("substring")
    value = flag.value.lower() if isinstance(flag, yaml.ScalarNode) else "false"
    if flag is not None and (not isinstance(flag, yaml.ScalarNode) or value not in BOOLEANS):
        raise _bad(flag, origin, f"“{key}”的 substring 只能是 true 或 false")
    return Entry(_terms(key, terms, origin), substring=value == "true")


def _terms(key: str, node: yaml.SequenceNode, origin: str) -> tuple[str, ...]:
    terms = []
    for item in node.value:
        term = item.value if isinstance(item, yaml.ScalarNode) else None
        if not isinstance(term, str) or not term.strip():
            raise _bad(item, origin, f"“{key}”的法律用语应是词语，不能为空或嵌套")
        terms.append(term.strip())
    return tuple(terms)


def _bad(node: yaml.Node, origin: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{origin} 第 {node.start_mark.line + 1} 行：{problem}", hint=FORMAT_HINT)
