"""The knowledge bases the shipped employees name are made at start, with the grade they read."""

from __future__ import annotations

from pathlib import Path

from shuzhi.config import Settings
from shuzhi.employees import service
from shuzhi.knowledge import KnowledgeService
from shuzhi.storage.db import Database

from .test_offline_and_front_desk import LAW


def test_seeded_bases_are_public_filled_once_and_never_replaced(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    laws = tmp_path / "laws"
    (laws / "社会法").mkdir(parents=True)
    (laws / "社会法" / "社会保险法(2018-12-29).md").write_text(LAW, encoding="utf-8")
    knowledge = KnowledgeService(db, settings)

    first = service.seed_knowledge(knowledge, laws)
    again = service.seed_knowledge(knowledge, laws)

    assert [(s.name, s.grade, s.imported) for s in first] == [("社会保险法规", "public", 1)]
    assert again == []  # an existing base (perhaps curated by the bureau) is left alone
    [passage] = knowledge.search("社会保险法规", "交满多少年能领养老金", k=1)
    assert passage.citation.startswith("《中华人民共和国社会保险法》第十六条")


def test_without_the_corpus_the_base_is_made_empty(db: Database, settings: Settings) -> None:
    knowledge = KnowledgeService(db, settings)
    assert [s.imported for s in service.seed_knowledge(knowledge, None)] == [0]
    assert [kb.name for kb, _, _ in knowledge.list_bases()] == ["社会保险法规"]
