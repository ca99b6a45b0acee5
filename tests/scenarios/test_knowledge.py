"""Retrieval steps over a real knowledge base (shuzhi.knowledge), not the shipped excerpts."""

from __future__ import annotations

from pathlib import Path

from shuzhi.config import Settings
from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.scenarios import run_scenario
from shuzhi.storage.db import Database

# A made-up regulation written for this test, in the layout of the law collection.
TEXT = """# 示范社会保险办法

<!-- INFO END -->

## 第一章 总则

第一条 为了示范检索，制定本办法。

第二条 参保人员累计缴费满十五年，达到退休年龄后按月领取养老金；不足十五年的可以延长缴费。

第三条 失业人员领取失业金的期限，按缴费年限分档确定，最长不超过二十四个月。
"""


def test_retrieval_uses_the_knowledge_base_and_cites_it(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "laws" / "社会法"
    folder.mkdir(parents=True)
    (folder / "示范社会保险办法(2024-01-01).md").write_text(TEXT, encoding="utf-8")
    service = KnowledgeService(db, settings)
    service.create("社会保险法规", grade=Grade.PUBLIC)
    assert service.import_paths("社会保险法规", [tmp_path / "laws"]).ok

    result = run_scenario(
        "social.insurance-qa", {"question": "养老金要缴费满十五年才能领吗"}, knowledge=service
    )

    assert result.outputs["answered"] is True
    assert result.outputs["sources"][0].startswith("《示范社会保险办法》第二条")
    assert "按月领取养老金" in result.outputs["draft"]
    assert not any("社会保险法》第十六条" in c["citation"] for c in result.citations)
