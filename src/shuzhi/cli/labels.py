"""The Chinese names of the codes a command prints: grades, roles, review policies.

The words are the console's (``console/messages.yaml``) and ``platform.roles``, so a clerk reads
the same name in the terminal as on the page. Where a command takes the code as input, the code
follows in parentheses: ``内部（internal）``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from shuzhi.platform.roles import ROLE_LABELS_ZH

_ROLES: dict[str, str] = {role.value: label for role, label in ROLE_LABELS_ZH.items()}


@cache
def _console_words() -> dict[str, dict[str, str]]:
    # Read as a file of the ``shuzhi`` package: importing ``shuzhi.console`` would load FastAPI.
    raw = resources.files("shuzhi").joinpath("console", "messages.yaml").read_text("utf-8")
    words: dict[str, dict[str, str]] = yaml.safe_load(raw)
    return words


def zh(group: str, code: str) -> str:
    """The console's Chinese word for ``group.code`` (e.g. ``gate.none``), else the code."""
    return _console_words().get(f"{group}.{code}", {}).get("zh", code)


def with_code(label: str, code: str) -> str:
    return code if label == code else f"{label}（{code}）"


def grade(code: str) -> str:
    """A knowledge base's grade, as ``kb create --grade`` takes it: ``内部（internal）``."""
    return with_code(zh("kb.grade", code), code)


def gate(code: str) -> str:
    """A scenario's review policy (人工把关): no command takes it, so the word alone."""
    return zh("gate", code)


def role(code: str, department_code: str | None = None, department_name: str | None = None) -> str:
    """A role, optionally within a department, as ``users grant`` takes it:
    ``复核人员@市教育局（reviewer@jyj）``."""
    label = _ROLES.get(code, code)
    spec = f"{code}@{department_code}" if department_code else code
    if department_code:
        label += f"@{department_name or department_code}"
    return with_code(label, spec)
