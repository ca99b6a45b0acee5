"""Scenario packs: a set of scenarios, with their rules and cases, as one YAML file.

A district exports the scenarios it wrote; another imports them. Import validates every
definition, runs every scenario's own cases, and installs nothing unless all of them pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.catalogue import Catalogue, load_catalogue
from shuzhi.scenarios.definition import ScenarioDef
from shuzhi.scenarios.evaluation import evaluate
from shuzhi.scenarios.loader import parse_yaml, read_yaml_file, scenario_from_data
from shuzhi.storage.db import Database

PACK_FORMAT = "shuzhi-scenario-pack/1"


def export_pack(
    scenario_ids: Iterable[str], *, name: str, catalogue: Catalogue | None = None
) -> str:
    """The pack as YAML text, scenarios in the order given."""
    catalogue = catalogue or load_catalogue()
    scenarios = [catalogue.get(i) for i in scenario_ids]
    if not scenarios:
        raise InvalidInput("场景包至少要包含一个场景", hint="指定场景编号，或按领域导出")
    document = {
        "format": PACK_FORMAT,
        "name": name,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": [s.model_dump(mode="json", exclude_defaults=True) for s in scenarios],
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def read_pack(text: str, origin: str = "场景包") -> list[ScenarioDef]:
    """Validate a pack; errors name the scenario's position, the field and the line."""
    data, node = parse_yaml(text, origin)
    if not isinstance(data, dict) or data.get("format") != PACK_FORMAT:
        raise InvalidInput(
            f"{origin} 不是场景包（缺少 format: {PACK_FORMAT}）",
            hint="用 `shuzhi scenarios pack export` 生成场景包",
        )
    items = data.get("scenarios")
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{origin} 中没有场景（scenarios 为空）")
    scenarios = [
        scenario_from_data(item, node, f"{origin} scenarios[{i}]", ("scenarios", i))
        for i, item in enumerate(items)
    ]
    ids = [s.id for s in scenarios]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidInput(f"{origin} 中场景编号重复：{', '.join(dupes)}")
    return scenarios


def import_pack(
    path: Path | str,
    *,
    db: Database,
    actor: str = "system",
    replace: bool = False,
) -> list[ScenarioDef]:
    """Install every scenario of the pack file at ``path`` after its own cases pass."""
    text = read_yaml_file(Path(path), "场景包")
    return import_pack_text(text, db=db, origin=str(path), actor=actor, replace=replace)


def import_pack_text(
    text: str,
    *,
    db: Database | None = None,
    session: Session | None = None,
    origin: str = "场景包",
    actor: str = "system",
    replace: bool = False,
) -> list[ScenarioDef]:
    """Validate, evaluate and install a pack given as text; all or nothing. Installs in the open
    ``session`` when given, else in a transaction of its own on ``db``."""
    from shuzhi.scenarios.store import install

    scenarios = read_pack(text, origin)
    _gate(scenarios)
    if session is None:
        if db is None:
            raise TypeError("import_pack_text needs db or session")
        with db.session() as own:
            return import_pack_text(text, session=own, origin=origin, actor=actor, replace=replace)
    for scenario in scenarios:
        install(session, scenario, source="pack", actor=actor, replace=replace)
    return scenarios


def _gate(scenarios: list[ScenarioDef]) -> None:
    catalogue = Catalogue({s.id: s for s in scenarios})
    report = evaluate(catalogue=catalogue)
    if not report.ok:
        lines: list[Any] = [
            f"{f.scenario_id}/{f.case}：{'；'.join(f.problems)}" for f in report.failures()[:10]
        ]
        raise InvalidInput(
            "场景包中有评测用例未通过，未导入任何场景：\n" + "\n".join(lines),
            hint="修正场景定义或用例后重新导出",
        )
