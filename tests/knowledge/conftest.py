"""Small law-like fixtures written by the tests themselves (never the shared corpus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shuzhi.config import Settings
from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.storage.db import Database

NATIONAL = """# 中华人民共和国示范劳动保障法

2020年1月1日 第十三届全国人民代表大会常务委员会通过

<!-- INFO END -->

## 第一章 总则

第一条 为了保障劳动者的合法权益，制定本法。

第二条 用人单位应当自用工之日起三十日内为职工办理社会保险登记。

## 第二章 工伤

第三条 社会保险行政部门应当自受理工伤认定申请之日起六十日内作出工伤认定的决定。

第三条之一 职工因醉酒导致伤亡的，不得认定为工伤。

第四条 本法自2020年3月1日起施行。
"""

OLD_NATIONAL = NATIONAL.replace("六十日内", "九十日内").replace("2020年1月1日", "2010年1月1日")


def local_rule(city: str, days: int) -> str:
    return f"""# {city}市民热线条例

<!-- INFO END -->

第一条 为了规范{city}市民服务热线工作，制定本条例。

第二条 承办单位应当自收到热线事项之日起{days}个工作日内办结并答复来电人。

第三条 来电人对热线受理人员态度生硬的服务行为有权投诉。
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder shaped like the law corpus: national texts, Jinan and Qingdao local rules."""
    root = tmp_path / "laws"
    (root / "社会法").mkdir(parents=True)
    (root / "社会法" / "示范劳动保障法(2020-01-01).md").write_text(NATIONAL, encoding="utf-8")
    (root / "社会法" / "示范劳动保障法(2010-01-01).md").write_text(OLD_NATIONAL, encoding="utf-8")
    (root / "社会法" / "_index.md").write_text("---\nbookCollapseSection: true\n---\n")
    local = root / "DLC" / "山东地方法规" / "地方性法规" / "山东"
    local.mkdir(parents=True)
    (local / "青岛市市民热线条例(2019-05-01).md").write_text(local_rule("青岛市", 3), "utf-8")
    (local / "济南市市民热线条例(2018-07-27).md").write_text(local_rule("济南市", 5), "utf-8")
    return root


@pytest.fixture
def service(db: Database, settings: Settings) -> Iterator[KnowledgeService]:
    svc = KnowledgeService(db, settings)
    yield svc


@pytest.fixture
def laws(service: KnowledgeService, corpus: Path) -> str:
    service.create("法规库", grade=Grade.PUBLIC)
    report = service.import_paths("法规库", [corpus])
    assert report.ok, report.failed
    return "法规库"
