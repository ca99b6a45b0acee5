"""The console's message catalogue: Chinese by default, English on request."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("zh", "en")
DEFAULT = "zh"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    raw = resources.files("shuzhi.console").joinpath("messages.yaml").read_text("utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(raw)
    return data


def translate(key: str, lang: str, **values: Any) -> str:
    """The text for ``key`` in ``lang`` (Chinese when missing), with ``{name}`` filled in."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT]
    return text.format(**values) if values else text
