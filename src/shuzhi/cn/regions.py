"""Administrative division codes (GB/T 2260), shipped as ``data/regions.yaml``.

Only what identifiers need: every province, Shandong's prefecture-level cities and Jinan's
districts. A code that is not listed resolves to the deepest level that is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class RegionTable:
    provinces: dict[str, str]
    prefectures: dict[str, str]
    counties: dict[str, str]


@cache
def region_table() -> RegionTable:
    raw = resources.files("shuzhi.cn").joinpath("data/regions.yaml").read_text("utf-8")
    data = yaml.safe_load(raw)
    return RegionTable(
        provinces={str(k): str(v) for k, v in data["provinces"].items()},
        prefectures={str(k): str(v) for k, v in data["prefectures"].items()},
        counties={str(k): str(v) for k, v in data["counties"].items()},
    )


def is_known_province(code: str) -> bool:
    """True when the first two digits of ``code`` are a province-level code."""
    return code[:2] in region_table().provinces


def region_name(code: str) -> str | None:
    """The fullest known name for a 2-, 4- or 6-digit code, e.g. ``山东省济南市历下区``.

    None when even the province is unknown.
    """
    table = region_table()
    province = table.provinces.get(code[:2])
    if province is None:
        return None
    name = province
    prefecture = table.prefectures.get(code[:4]) if len(code) >= 4 else None
    if prefecture:
        name += prefecture
    county = table.counties.get(code[:6]) if len(code) >= 6 else None
    if county and county != "市辖区":
        name += county
    return name
