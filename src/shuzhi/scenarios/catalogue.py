"""The catalogue: every scenario this deployment knows, grouped field → scenario.

Shipped scenarios are YAML files under ``catalogue/<field>/<name>.yaml`` in this package; a
deployment adds more from packs (stored in the ``scenarios`` table) or from extra directories.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.scenarios.definition import FIELD_NAMES_ZH, FieldId, ScenarioDef
from shuzhi.scenarios.loader import load_scenario_file
from shuzhi.storage.db import Database

BUILTIN_DIR = Path(__file__).parent / "catalogue"


@dataclass(frozen=True)
class Catalogue:
    """Scenarios by id, with where each came from (``builtin``, ``pack`` or a directory)."""

    scenarios: dict[str, ScenarioDef]
    origins: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self) -> Iterator[ScenarioDef]:
        return iter(self.scenarios.values())

    def __contains__(self, scenario_id: object) -> bool:
        return scenario_id in self.scenarios

    def get(self, scenario_id: str) -> ScenarioDef:
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            raise NotFound(
                f"没有场景 {scenario_id}", hint="用 `shuzhi scenarios list` 查看可用场景"
            ) from None

    def by_field(self) -> dict[FieldId, list[ScenarioDef]]:
        groups: dict[FieldId, list[ScenarioDef]] = {f: [] for f in FieldId}
        for scenario in sorted(self, key=lambda s: s.id):
            groups[scenario.field].append(scenario)
        return groups

    def for_employee(self, slug: str) -> list[ScenarioDef]:
        return [s for s in self if s.employee == slug]

    def field_name(self, field_id: FieldId | str) -> str:
        return FIELD_NAMES_ZH[FieldId(field_id)]

    def merged(self, extra: Iterable[ScenarioDef], origin: str) -> Catalogue:
        scenarios, origins = dict(self.scenarios), dict(self.origins)
        for scenario in extra:
            scenarios[scenario.id] = scenario
            origins[scenario.id] = origin
        return Catalogue(scenarios, origins)


def load_directory(root: Path) -> list[ScenarioDef]:
    """Every ``<field>/<name>.yaml`` under ``root``; its folder must be its field."""
    loaded: list[ScenarioDef] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.glob("*/*.yaml")):
        scenario = load_scenario_file(path)
        if path.parent.name != scenario.field.value:
            raise InvalidInput(
                f"{path}：场景领域为 {scenario.field.value}，却放在目录 {path.parent.name}/ 下",
                hint=f"把文件移到 {scenario.field.value}/ 目录",
            )
        if scenario.id in seen:
            raise InvalidInput(f"{path}：场景编号 {scenario.id} 与 {seen[scenario.id]} 重复")
        seen[scenario.id] = path
        loaded.append(scenario)
    return loaded


@lru_cache(maxsize=1)
def builtin_catalogue() -> Catalogue:
    scenarios = load_directory(BUILTIN_DIR)
    return Catalogue({s.id: s for s in scenarios}, {s.id: "builtin" for s in scenarios})


def load_catalogue(*extra_dirs: Path, db: Database | None = None) -> Catalogue:
    """The shipped catalogue, plus scenarios installed from packs (``db``) and ``extra_dirs``."""
    catalogue = builtin_catalogue()
    for directory in extra_dirs:
        catalogue = catalogue.merged(load_directory(Path(directory)), str(directory))
    if db is not None:
        from shuzhi.scenarios.store import installed_scenarios

        catalogue = catalogue.merged(installed_scenarios(db), "pack")
    return catalogue
