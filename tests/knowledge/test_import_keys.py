"""Nothing is replaced silently: same-named files, files from elsewhere, stale folder indexes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.knowledge import KnowledgeService, ingest
from shuzhi.knowledge.backends import SearchRequest
from shuzhi.storage.db import Database
from shuzhi.storage.models import KbChunk, KbDocument
from tests.clirun import run_cli
from tests.console.test_pages import _signed_in

from .test_api_cli import _headers

GUIDE_A = "# 办事指南\n\n护照办理需要七个工作日。\n"
GUIDE_B = "# 办事指南\n\n营业执照办理需要三个工作日。\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def stored(db: Database) -> list[tuple[str, str]]:
    """(source key, chunk text) of every stored chunk."""
    with db.session() as session:
        rows = session.execute(
            select(KbDocument.source_key, KbChunk.text)
            .join(KbChunk, KbChunk.document_id == KbDocument.id)
            .order_by(KbDocument.source_key, KbChunk.seq)
        ).all()
    return [(key, text) for key, text in rows]


def test_two_files_of_one_name_in_one_import_keep_the_first_and_refuse_the_second(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    first = write(tmp_path / "甲" / "办事指南.md", GUIDE_A)
    second = write(tmp_path / "乙" / "办事指南.md", GUIDE_B)
    service.create("指南")

    report = service.import_paths("指南", [first, second])

    assert (report.seen, report.added, len(report.failed)) == (2, 1, 1)
    failure = report.failed[0]
    assert failure.path == str(second.resolve())
    assert f"与同一次导入的 {first.resolve()} 都记作“办事指南.md”，未导入" in failure.message
    assert "改名" in failure.message
    assert stored(db) == [("办事指南.md", "护照办理需要七个工作日。")]


def test_the_same_file_named_twice_is_imported_once(
    service: KnowledgeService, tmp_path: Path
) -> None:
    guide = write(tmp_path / "办事指南.md", GUIDE_A)
    service.create("指南")

    report = service.import_paths("指南", [guide, tmp_path / "." / "办事指南.md"])

    assert (report.seen, report.added, report.failed) == (1, 1, [])


def test_two_folders_of_one_name_do_not_overwrite_each_other(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    write(tmp_path / "2023" / "指南" / "护照.md", GUIDE_A)
    write(tmp_path / "2024" / "指南" / "护照.md", GUIDE_B)
    service.create("指南")

    report = service.import_paths("指南", [tmp_path / "2023" / "指南", tmp_path / "2024" / "指南"])

    assert (report.added, [f.path for f in report.failed]) == (
        1,
        [str(tmp_path.resolve() / "2024" / "指南" / "护照.md")],
    )
    assert stored(db) == [("指南/护照.md", "护照办理需要七个工作日。")]


def test_a_changed_file_from_another_place_replaces_the_stored_one_and_says_so(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    first = write(tmp_path / "甲" / "办事指南.md", GUIDE_A)
    second = write(tmp_path / "乙" / "办事指南.md", GUIDE_B)
    service.create("指南")
    assert service.import_paths("指南", [first]).added == 1

    report = service.import_paths("指南", [second])

    assert (report.replaced, report.failed) == (1, [])
    assert [note.path for note in report.notes] == [str(second.resolve())]
    assert f"它原本来自 {first.resolve()}" in report.notes[0].message
    assert stored(db) == [("办事指南.md", "营业执照办理需要三个工作日。")]
    assert service.search("指南", "营业执照办理", k=1)[0].text == "营业执照办理需要三个工作日。"


def test_a_changed_file_from_the_same_place_is_replaced_without_a_note(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    guide = write(tmp_path / "办事指南.md", GUIDE_A)
    service.create("指南")
    service.import_paths("指南", [guide])
    guide.write_text(GUIDE_B, encoding="utf-8")

    report = service.import_paths("指南", [guide])

    assert (report.replaced, report.notes) == (1, [])
    assert stored(db) == [("办事指南.md", "营业执照办理需要三个工作日。")]


def test_an_unchanged_file_seen_elsewhere_records_the_new_place(
    service: KnowledgeService, tmp_path: Path, db: Database
) -> None:
    old = write(tmp_path / "旧" / "办事指南.md", GUIDE_A)
    moved = write(tmp_path / "新" / "办事指南.md", GUIDE_A)
    other = write(tmp_path / "别处" / "办事指南.md", GUIDE_B)
    service.create("指南")
    service.import_paths("指南", [old])
    with db.session() as session:  # as a document imported before origins were recorded
        session.execute(update(KbDocument).values(origin=""))

    assert service.import_paths("指南", [moved]).unchanged == 1
    report = service.import_paths("指南", [other])

    assert len(report.notes) == 1 and f"它原本来自 {moved.resolve()}" in report.notes[0].message


def test_uploads_by_another_account_say_whose_file_they_replaced(
    service: KnowledgeService, db: Database
) -> None:
    service.create("上传")
    service.import_upload("上传", "指南.txt", "护照办理需要7个工作日。".encode(), "zhangsan")

    again = service.import_upload("上传", "指南.txt", "护照要6个工作日。".encode(), "zhangsan")
    other = service.import_upload("上传", "指南.txt", "签证办理需要5个工作日。".encode(), "lisi")

    assert (again.replaced, again.notes) == (1, [])
    assert other.replaced == 1
    assert [note.path for note in other.notes] == ["账号 lisi 上传的文件"]
    assert "它原本来自 账号 zhangsan 上传的文件" in other.notes[0].message
    assert stored(db) == [("upload/指南.txt", "签证办理需要5个工作日。")]


def test_the_upload_endpoint_reports_the_replaced_upload(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    op, _, social = _headers(db)
    KnowledgeService(db, settings).create("社保库", department_id=social)
    KnowledgeService(db, settings).import_upload("社保库", "指南.md", GUIDE_A.encode(), "viewer")

    upload = client.post(
        "/api/kb/社保库/documents",
        files={"file": ("指南.md", GUIDE_B.encode(), "text/markdown")},
        headers=op,
    )

    body = upload.json()
    assert upload.status_code == 200 and body["replaced"] == 1
    assert body["notes"][0]["path"] == "账号 op 上传的文件"
    assert "账号 viewer 上传的文件" in body["notes"][0]["message"]


def test_the_console_upload_shows_whose_file_was_replaced(settings: Settings, db: Database) -> None:
    _, _, social = _headers(db)
    KnowledgeService(db, settings).create("社保库", department_id=social)
    KnowledgeService(db, settings).import_upload("社保库", "指南.md", GUIDE_A.encode(), "viewer")
    console, csrf = _signed_in(settings, db, "op")

    page = console.post(
        "/console/knowledge/upload",
        data={"kb": "社保库"},
        files={"file": ("指南.md", GUIDE_B.encode(), "text/markdown")},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )

    assert page.status_code == 200, page.text
    assert '<div class="warn">' in page.text
    replaced = "已替换知识库中同样记作“upload/指南.md”的文件，它原本来自 账号 viewer 上传的文件"
    assert replaced in page.text


# -- folder indexes left by older imports --------------------------------------------------------


def index_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "laws"
    write(root / "社会法" / "示范办事规定.md", "# 示范办事规定\n\n护照办理需要七个工作日。\n")
    write(root / "社会法" / "_index.md", "# 社会法\n\n本目录收录示范琉璃瓦文本。\n")
    return root


def old_import(service: KnowledgeService, root: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Import as releases that did not skip folder indexes did; the index document's id."""
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "SKIPPED_NAMES", ())
        assert service.import_paths("法规", [root]).added == 2
    found = service.search("法规", "琉璃瓦", k=1)
    assert found and found[0].document_title == "社会法"
    return found[0].document_id


def test_an_import_removes_folder_indexes_stored_by_older_imports(
    service: KnowledgeService, tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = index_corpus(tmp_path)
    service.create("法规")
    index_id = old_import(service, root, monkeypatch)

    report = service.import_paths("法规", [root])

    assert report.removed == ["laws/社会法/_index.md"]
    assert (report.unchanged, report.skipped) == (1, ["laws/社会法/_index.md"])
    assert [key for key, _ in stored(db)] == ["laws/社会法/示范办事规定.md"]
    with db.session() as session:
        left = session.scalar(select(func.count()).where(KbChunk.document_id == index_id))
    assert left == 0
    hits = service.backend.search(SearchRequest(words=["琉璃瓦"], kb_ids=None, limit=10))
    assert [hit for hit in hits if hit.document_id == index_id] == []
    assert service.search("法规", "琉璃瓦", k=5) == []
    assert service.import_paths("法规", [root]).removed == []


def test_any_import_into_the_base_removes_them_and_the_command_says_so(
    service: KnowledgeService,
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = index_corpus(tmp_path)
    service.create("法规")
    old_import(service, root, monkeypatch)
    other = write(tmp_path / "另一份.md", "# 另一份\n\n签证办理需要五个工作日。\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    run = run_cli(monkeypatch, capsys, "kb", "import", "法规", str(other))

    assert run.returncode == 0, run.stdout + run.stderr
    assert "已移除此前导入的 1 个目录索引文件（_index.md，不是正文）" in run.stdout
    assert service.search("法规", "琉璃瓦", k=5) == []
