from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.knowledge import Grade, KnowledgeService, SearchFilters
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, KbChunk, KbDocument

from .conftest import NATIONAL, local_rule


def test_search_returns_the_article_with_a_citation(service: KnowledgeService, laws: str) -> None:
    passages = service.search(laws, "工伤认定申请受理后多久要作出决定", k=3)

    top = passages[0]
    assert top.anchor == "第三条"
    assert top.citation == "《中华人民共和国示范劳动保障法》第三条（2020-01-01）"
    assert top.heading_path == ["第二章 工伤"]
    assert top.version_date == date(2020, 1, 1)
    assert "六十日内" in top.text  # the newest version, not the 2010 one
    assert top.kb == laws


def test_older_versions_only_when_asked(service: KnowledgeService, laws: str) -> None:
    texts = [p.text for p in service.search(laws, "工伤认定决定期限", k=10)]
    assert not any("九十日内" in t for t in texts)

    every = service.search(laws, "工伤认定决定期限", k=10, filters=SearchFilters(all_versions=True))
    assert any("九十日内" in p.text for p in every)
    dated = service.search(
        laws, "工伤认定决定", filters=SearchFilters(all_versions=True, date_to=date(2015, 1, 1))
    )
    assert dated and all(p.version_date == date(2010, 1, 1) for p in dated)


def test_home_city_ranks_above_another_city(service: KnowledgeService, laws: str) -> None:
    # The deployment is 济南市 (default settings); the Qingdao rule matches the words equally.
    top = service.search(laws, "热线事项多少个工作日内办结答复", k=2)
    assert top[0].document_title == "济南市市民热线条例"
    assert top[0].jurisdiction == "山东·济南市"


def test_a_named_place_wins(service: KnowledgeService, laws: str) -> None:
    top = service.search(laws, "青岛热线事项多少个工作日内办结答复", k=1)
    assert top[0].document_title == "青岛市市民热线条例"


def test_named_law_and_article_come_first(service: KnowledgeService, laws: str) -> None:
    top = service.search(laws, "示范劳动保障法第二条讲的是什么", k=1)
    assert top[0].anchor == "第二条"
    assert top[0].document_title.endswith("示范劳动保障法")


def test_colloquial_words_find_legal_wording(service: KnowledgeService, laws: str) -> None:
    top = service.search(laws, "喝醉了受伤算不算工伤", k=2)
    assert top[0].anchor == "第三条之一"


def test_reimport_skips_unchanged_and_replaces_changed(
    service: KnowledgeService, laws: str, corpus: Path, db: Database
) -> None:
    again = service.import_paths(laws, [corpus])
    assert (again.unchanged, again.added, again.replaced) == (4, 0, 0)

    law = corpus / "社会法" / "示范劳动保障法(2020-01-01).md"
    law.write_text(NATIONAL.replace("六十日内", "四十五日内"), encoding="utf-8")
    changed = service.import_paths(laws, [corpus])
    assert (changed.unchanged, changed.replaced) == (3, 1)

    top = service.search(laws, "工伤认定决定", k=1)[0]
    assert "四十五日内" in top.text
    with db.session() as session:
        texts = session.scalars(select(KbChunk.text)).all()
    assert not any("六十日内" in t for t in texts)
    assert sum("四十五日内" in t for t in texts) == 1


def test_bad_files_are_reported_and_the_rest_imported(
    service: KnowledgeService, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "empty.md").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    (folder / "ok.txt").write_text("第一条 办理时限为五个工作日。\n第二条 不收费。\n", "gb18030")
    service.create("批次", grade="internal")

    report = service.import_paths("批次", [folder])

    assert (report.seen, report.added) == (3, 1)
    failed = {f.path.rsplit("/", 1)[-1]: f.message for f in report.failed}
    assert "文件为空" in failed["empty.md"]
    assert "PDF 文件无法读取" in failed["broken.pdf"]
    assert service.search("批次", "办理时限", k=1)[0].anchor == "第一条"


def test_a_20_mb_file_imports(service: KnowledgeService, tmp_path: Path) -> None:
    paragraph = "市场主体登记机关应当在三个工作日内办结登记手续，并出具书面凭证。" * 8
    sections = "".join(f"## 第{n}部分\n{paragraph}\n{paragraph}\n" for n in range(1, 13_001))
    path = tmp_path / "大文件.md"
    path.write_text(sections + "## 附则\n本指南自发布之日起施行。\n", encoding="utf-8")
    assert path.stat().st_size > 20_000_000
    service.create("大", grade="internal")

    report = service.import_paths("大", [path])

    assert report.ok and report.chunks == 13_001
    top = service.search("大", "本指南什么时候施行", k=1)[0]
    assert top.heading_path == ["附则"] and top.document_title == "大文件"


def test_interrupted_import_is_completed_by_the_next_run(
    service: KnowledgeService, laws: str, corpus: Path, db: Database
) -> None:
    # Simulate a crash after the database commit and before the index was written.
    with db.session() as session:
        doc_id = session.scalar(
            select(KbDocument.id).where(KbDocument.title == "济南市市民热线条例")
        )
        session.execute(update(KbDocument).where(KbDocument.id == doc_id).values(status="stored"))
    service.backend.delete([doc_id])
    assert all(p.document_id != doc_id for p in service.search(laws, "济南热线办结", k=5))

    service.import_paths(laws, [corpus])

    assert service.search(laws, "济南热线办结", k=1)[0].document_id == doc_id


def test_reindex_rebuilds_from_stored_chunks(service: KnowledgeService, laws: str) -> None:
    service.backend.clear([service.get(laws).id])
    assert service.search(laws, "工伤认定", k=1) == []
    assert service.reindex(laws) == 16  # two versions of the national law, two local rules
    assert service.search(laws, "工伤认定", k=1)[0].anchor == "第三条"


def test_access_follows_grade_and_department(service: KnowledgeService, db: Database) -> None:
    with db.session() as session:
        department = Department(code="rsj", name="人社局")
        session.add(department)
        session.flush()
    service.create("内部库", department_id=department.id, grade=Grade.RESTRICTED)
    with pytest.raises(PermissionDenied, match="密级"):
        service.search("内部库", "任何问题", grades=[Grade.PUBLIC, Grade.INTERNAL])
    with pytest.raises(PermissionDenied, match="其他部门"):
        service.search("内部库", "任何问题", departments=[7])
    readable = service.search(
        "内部库", "任何问题", grades=[Grade.RESTRICTED], departments=[department.id]
    )
    assert readable == []


def test_clear_errors(service: KnowledgeService) -> None:
    service.create("甲")
    with pytest.raises(Conflict):
        service.create("甲")
    with pytest.raises(NotFound, match="知识库不存在：乙"):
        service.search("乙", "问题")
    with pytest.raises(InvalidInput, match="密级"):
        service.create("丙", grade="secret")
    with pytest.raises(InvalidInput, match="不能为空"):
        service.search("甲", "  ")
    with pytest.raises(InvalidInput, match="知识库名称不能含控制字符"):
        service.create("丁\x00")
    with pytest.raises(InvalidInput, match="知识库说明不能含控制字符"):
        service.create("戊", description="第一行\n第二行\x00")
    assert [kb.name for kb, _, _ in service.list_bases()] == ["甲"]
    missing = service.import_paths("甲", ["/no/such/place.md"])
    assert missing.failed[0].message.startswith("无法读取文件：place.md")


def test_upload_is_identified_by_name(service: KnowledgeService) -> None:
    service.create("上传")
    first = service.import_upload("上传", "指南.txt", "护照办理需要7个工作日。".encode())
    second = service.import_upload("上传", "指南.txt", "护照办理需要7个工作日。".encode())
    assert (first.added, second.unchanged) == (1, 1)
    assert service.search("上传", "护照办理", k=1)[0].document_title == "指南"


def test_a_single_local_file_takes_its_place_from_the_title(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    # A bureau imports its own files one by one: no DLC/山东地方法规 folder to read a place from.
    service.create("热线法规")
    for city, days in (("青岛市", 3), ("济南市", 5)):
        path = tmp_path / f"{city}市民热线条例(2019-05-01).md"
        path.write_text(local_rule(city, days), encoding="utf-8")
        assert service.import_paths("热线法规", [path]).added == 1

    with db.session() as session:
        rows = session.execute(select(KbDocument.province, KbDocument.city)).all()
    places = {tuple(row) for row in rows}
    assert places == {("山东", "青岛市"), ("山东", "济南市")}
    top = service.search("热线法规", "热线事项多少个工作日内办结答复", k=2)
    assert [p.jurisdiction for p in top] == ["山东·济南市", "山东·青岛市"]  # home city first


def test_folder_indexes_are_skipped_whether_named_or_found(
    service: KnowledgeService, corpus: Path, db: Database
) -> None:
    service.create("索引")
    named = service.import_paths("索引", [corpus / "社会法" / "_index.md"])
    assert (named.seen, named.added, named.skipped) == (0, 0, ["_index.md"])

    found = service.import_paths("索引", [corpus])
    assert (found.added, found.skipped) == (4, ["laws/社会法/_index.md"])
    with db.session() as session:
        keys = session.scalars(select(KbDocument.source_key)).all()
    assert len(keys) == 4 and not any(key.endswith("_index.md") for key in keys)


def test_copies_of_one_text_in_two_folders_give_one_passage(
    service: KnowledgeService, tmp_path: Path
) -> None:
    for folder in ("经济法", "部门规章"):
        (tmp_path / "copies" / folder).mkdir(parents=True)
        path = tmp_path / "copies" / folder / "示范劳动保障法(2020-01-01).md"
        path.write_text(NATIONAL, encoding="utf-8")
    service.create("副本", grade=Grade.PUBLIC)
    assert service.import_paths("副本", [tmp_path / "copies"]).added == 2

    passages = service.search("副本", "工伤认定决定", k=3)
    anchors = [p.anchor for p in passages]
    assert len(anchors) == len(set(anchors)) == 3


def test_files_named_in_gbk_import_with_their_chinese_names(
    service: KnowledgeService, tmp_path: Path
) -> None:
    """A Windows zip unpacked on Linux leaves GBK file names, which are not UTF-8 text."""
    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "ok.md").write_text("# 正常\n\n第一条 正常内容。\n", encoding="utf-8")
    gbk = "办事指南.md".encode("gbk").decode("utf-8", "surrogateescape")
    (folder / gbk).write_text("# 办事指南\n\n第一条 社保卡补办携带身份证。\n", encoding="utf-8")
    undecodable = b"\xff\xfe.md".decode("utf-8", "surrogateescape")
    (folder / undecodable).write_text("# 其他\n\n第一条 退休手续的办理地点。\n", encoding="utf-8")
    service.create("指南", grade=Grade.PUBLIC)

    report = service.import_paths("指南", [folder])

    assert report.ok and report.added == 3, report.failed
    top = service.search("指南", "社保卡补办", k=1)[0]
    assert top.document_title == "办事指南"
    assert service.search("指南", "退休手续", k=1)[0].document_title == "其他"


@pytest.mark.parametrize("name", ["政策/2024", "a?b", "c#d", "50%", "x\\y"])
def test_a_base_name_that_cannot_be_part_of_an_address_is_refused(
    service: KnowledgeService, name: str
) -> None:
    with pytest.raises(InvalidInput, match="不能含"):
        service.create(name)
