"""Import files into a knowledge base: read, cut, store, index; idempotent and resumable.

Each document is recorded with its content hash. Re-importing an unchanged file does nothing; a
changed file replaces its old chunks. Documents are stored (status ``stored``) before they are
indexed and marked ``indexed`` after, so an import interrupted between the two is completed by the
next run instead of being lost or duplicated.

Nothing is replaced silently: of two files with the same key in one import only the first is
imported (the second is a failure saying what to do), and a changed file that replaces a stored
one imported from another place (another path, another account's upload) gets a note saying so.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from shuzhi.cn.encoding import readable_name
from shuzhi.errors import InvalidInput, os_error_zh
from shuzhi.knowledge import jurisdiction
from shuzhi.knowledge._text import index_text
from shuzhi.knowledge.backends import IndexEntry, SearchBackend
from shuzhi.knowledge.catalog import law_key, short_title
from shuzhi.knowledge.chunking import is_legal_text, split_document
from shuzhi.knowledge.model import (
    ChunkDraft,
    DocType,
    FileFailure,
    FileNote,
    ImportReport,
    ParsedDocument,
)
from shuzhi.knowledge.readers import read_document, supported_suffixes
from shuzhi.storage.db import Database, utcnow
from shuzhi.storage.models import KbChunk, KbDocument

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
BATCH_FILES = 200
SKIPPED_NAMES = ("_index.md",)  # folder indexes of the law corpus: front matter, no text
UPLOAD_ORIGIN = "upload:"  # origin of an upload: this prefix and the uploading account
ORIGIN_LENGTH = 1024  # the column's width


@dataclass(frozen=True)
class Source:
    """One file to import: ``key`` identifies it within the knowledge base across re-imports;
    ``origin`` says where it came from (absolute path, or ``upload:<account>``; "" unknown)."""

    key: str
    read: Callable[[], bytes]
    origin: str = ""

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def shown(self) -> str:
        """The file as the report names it: where it came from, else its key."""
        return describe_origin(self.origin) or self.key


@dataclass(frozen=True)
class _Stored:
    id: int
    content_hash: str
    origin: str


@dataclass
class _Prepared:
    source: Source
    content_hash: str
    doc: ParsedDocument
    chunks: list[ChunkDraft]
    existing_id: int | None


def sources_from_paths(paths: Iterable[Path]) -> Iterator[Source]:
    """Files given directly, and supported files found under folders (keyed relative to them).

    Folder indexes (``_index.md``) are passed on too, so the import report can say it skipped them.
    Names that are not UTF-8 on disk (GBK names from a Windows zip) are keyed and shown as read by
    :func:`~shuzhi.cn.encoding.readable_name`; the file itself is read by its real path.
    """
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for file in sorted(path.rglob("*")):
                if _wanted(file):
                    key = readable_name(file.relative_to(path.parent).as_posix())
                    origin = readable_name(str(root / file.relative_to(path)))
                    yield Source(key, file.read_bytes, origin)
        else:  # a missing file fails on reading, as its own line in the report
            yield Source(
                readable_name(path.name), path.read_bytes, readable_name(str(path.resolve()))
            )


def upload_origin(account: str | None) -> str:
    """The origin recorded for an upload by ``account`` ("" when the uploader is not known)."""
    return f"{UPLOAD_ORIGIN}{account}" if account else ""


def describe_origin(origin: str) -> str:
    """An origin as a clerk reads it: the path, or which account uploaded the file."""
    if origin.startswith(UPLOAD_ORIGIN):
        return f"账号 {origin.removeprefix(UPLOAD_ORIGIN)} 上传的文件"
    return origin


def _wanted(file: Path) -> bool:
    name = file.name
    return (
        file.is_file()
        and file.suffix.lower() in supported_suffixes()
        and not name.startswith((".", "~$"))
    )


class Importer:
    def __init__(self, db: Database, backend: SearchBackend, kb_id: int) -> None:
        self.db = db
        self.backend = backend
        self.kb_id = kb_id

    def run(self, sources: Sequence[Source], progress: Progress | None = None) -> ImportReport:
        report = ImportReport(skipped=[s.key for s in sources if s.name in SKIPPED_NAMES])
        sources = _distinct([s for s in sources if s.name not in SKIPPED_NAMES], report)
        known = self._known()
        report.removed = self._remove_folder_indexes(known)
        self.finish_interrupted()
        batch: list[_Prepared] = []
        moved: list[dict[str, object]] = []
        for done, source in enumerate(sources, start=1):
            report.seen += 1
            prepared = self._prepare(source, known, report, moved)
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= BATCH_FILES:
                self._store(batch, report)
                batch = []
            if progress is not None:
                progress(done, len(sources), source.key)
        self._store(batch, report)
        self._record_origins(moved)
        log.info("kb %s import: %s files, %s failed", self.kb_id, report.seen, len(report.failed))
        return report

    def _remove_folder_indexes(self, known: dict[str, _Stored]) -> list[str]:
        """Delete folder indexes that imports made before they were skipped left in the base."""
        stale = sorted(key for key in known if PurePosixPath(key).name in SKIPPED_NAMES)
        if not stale:
            return []
        ids = [known.pop(key).id for key in stale]
        # The index first: a crash in between leaves documents the next import removes again,
        # never index entries of documents that are gone.
        self.backend.delete(ids)
        with self.db.session() as session:
            session.execute(delete(KbDocument).where(KbDocument.id.in_(ids)))  # chunks cascade
        log.info("kb %s: removed %s folder index documents", self.kb_id, len(ids))
        return stale

    def _record_origins(self, moved: list[dict[str, object]]) -> None:
        """Unchanged files found at another place: remember the place they were last seen."""
        if not moved:
            return
        table = cast(Table, KbDocument.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("document_id"))
            .values(origin=bindparam("new_origin"))
        )
        with self.db.session() as session:
            session.connection().execute(statement, moved)

    def finish_interrupted(self) -> None:
        """Index documents an earlier run stored but did not get to index."""
        with self.db.session() as session:
            ids = session.scalars(
                select(KbDocument.id).where(
                    KbDocument.kb_id == self.kb_id, KbDocument.status == "stored"
                )
            ).all()
        if ids:
            log.warning("kb %s: completing %s interrupted documents", self.kb_id, len(ids))
            self.reindex_documents(list(ids))

    def reindex_documents(self, document_ids: list[int]) -> int:
        """Rebuild the index entries of these documents from their stored chunks."""
        count = 0
        for start in range(0, len(document_ids), BATCH_FILES):
            ids = document_ids[start : start + BATCH_FILES]
            entries = self._entries_from_db(ids)
            self.backend.delete(ids)
            self.backend.index(entries)
            self._mark_indexed(ids)
            count += len(entries)
        return count

    def _known(self) -> dict[str, _Stored]:
        with self.db.session() as session:
            rows = session.execute(
                select(
                    KbDocument.source_key,
                    KbDocument.id,
                    KbDocument.content_hash,
                    KbDocument.origin,
                ).where(KbDocument.kb_id == self.kb_id)
            ).all()
        return {key: _Stored(doc_id, digest, origin) for key, doc_id, digest, origin in rows}

    def _prepare(
        self,
        source: Source,
        known: dict[str, _Stored],
        report: ImportReport,
        moved: list[dict[str, object]],
    ) -> _Prepared | None:
        origin = source.origin[:ORIGIN_LENGTH]
        try:
            data = source.read()
            digest = hashlib.sha256(data).hexdigest()
            existing = known.get(source.key)
            if existing and existing.content_hash == digest:
                report.unchanged += 1
                if origin and existing.origin != origin:
                    moved.append({"document_id": existing.id, "new_origin": origin})
                return None
            doc = read_document(source.name, data)
            chunks = _chunks(doc)
            if not chunks:
                raise InvalidInput(f"文件中没有可用的正文：{source.name}", hint="请检查文件内容")
        except InvalidInput as exc:
            report.failed.append(FileFailure(source.key, str(exc)))
            return None
        except OSError as exc:
            message = f"无法读取文件：{source.key}（{os_error_zh(exc)}）"
            report.failed.append(FileFailure(source.key, message))
            return None
        _classify(doc, source.key, chunks)
        if existing and existing.origin and origin and existing.origin != origin:
            report.notes.append(FileNote(source.shown, _replaced_from(source.key, existing.origin)))
        return _Prepared(source, digest, doc, chunks, existing.id if existing else None)

    def _store(self, batch: list[_Prepared], report: ImportReport) -> None:
        if not batch:
            return
        with self.db.session() as session:
            doc_ids = self._write_documents(session, batch)
            self._write_chunks(session, batch, doc_ids)
        entries = self._entries(batch, doc_ids)
        self.backend.delete([item.existing_id for item in batch if item.existing_id])
        self.backend.index(entries)
        self._mark_indexed(doc_ids)
        report.added += sum(1 for item in batch if item.existing_id is None)
        report.replaced += sum(1 for item in batch if item.existing_id is not None)
        report.chunks += len(entries)

    def _write_documents(self, session: Session, batch: list[_Prepared]) -> list[int]:
        """Insert new documents in one statement; replace changed ones in place (same id)."""
        table = cast(Table, KbDocument.__table__)
        fresh = [self._document_row(item) for item in batch if item.existing_id is None]
        new_ids = iter(
            session.scalars(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), fresh
            ).all()
            if fresh
            else []
        )
        ids = []
        for item in batch:
            if item.existing_id is None:
                ids.append(int(next(new_ids)))
                continue
            session.execute(delete(KbChunk).where(KbChunk.document_id == item.existing_id))
            session.execute(
                update(KbDocument)
                .where(KbDocument.id == item.existing_id)
                .values(**self._document_row(item))
            )
            ids.append(item.existing_id)
        return ids

    def _document_row(self, item: _Prepared) -> dict[str, object]:
        doc = item.doc
        return {
            "kb_id": self.kb_id,
            "source_key": item.source.key,
            "origin": item.source.origin[:ORIGIN_LENGTH],
            "title": doc.title[:500],
            "subtitle": doc.subtitle[:200],
            "law_key": law_key(doc.title, doc.subtitle)[:500],
            "doc_type": doc.doc_type.value,
            "file_type": doc.file_type,
            "version_date": doc.version_date,
            "province": doc.province,
            "city": doc.city,
            "content_hash": item.content_hash,
            "status": "stored",
            "n_chunks": len(item.chunks),
            "updated_at": utcnow(),
        }

    def _write_chunks(self, session: Session, batch: list[_Prepared], doc_ids: list[int]) -> None:
        rows = [
            {
                "document_id": doc_id,
                "kb_id": self.kb_id,
                "seq": seq,
                "anchor": chunk.anchor[:64],
                "article_no": chunk.article_no,
                "heading_path": chunk.heading_path,
                "text": chunk.text,
                "text_hash": hashlib.sha256(chunk.text.encode()).hexdigest(),
            }
            for item, doc_id in zip(batch, doc_ids, strict=True)
            for seq, chunk in enumerate(item.chunks)
        ]
        # Core executemany without RETURNING: chunks are named by (document_id, seq), which
        # keeps a 150,000-row import several times faster than fetching generated ids.
        session.execute(insert(cast(Table, KbChunk.__table__)), rows)

    def _entries(self, batch: list[_Prepared], doc_ids: list[int]) -> list[IndexEntry]:
        entries = []
        for item, doc_id in zip(batch, doc_ids, strict=True):
            title = title_words(item.doc.title, item.doc.subtitle)
            for seq, chunk in enumerate(item.chunks):
                entries.append(_entry(doc_id, seq, self.kb_id, item.doc, chunk, title))
        return entries

    def _entries_from_db(self, document_ids: list[int]) -> list[IndexEntry]:
        with self.db.session() as session:
            docs = {
                d.id: d
                for d in session.scalars(select(KbDocument).where(KbDocument.id.in_(document_ids)))
            }
            chunks = session.scalars(
                select(KbChunk).where(KbChunk.document_id.in_(document_ids)).order_by(KbChunk.id)
            ).all()
            entries = []
            for chunk in chunks:
                doc = docs[chunk.document_id]
                parsed = ParsedDocument(
                    title=doc.title, doc_type=DocType(doc.doc_type), version_date=doc.version_date
                )
                draft = ChunkDraft(chunk.text, list(chunk.heading_path), chunk.anchor)
                words = title_words(doc.title, doc.subtitle)
                entries.append(_entry(doc.id, chunk.seq, doc.kb_id, parsed, draft, words))
        return entries

    def _mark_indexed(self, document_ids: list[int]) -> None:
        if not document_ids:
            return
        with self.db.session() as session:
            session.execute(
                update(KbDocument).where(KbDocument.id.in_(document_ids)).values(status="indexed")
            )


def _distinct(sources: list[Source], report: ImportReport) -> list[Source]:
    """The sources with a key not taken by an earlier one in this import.

    A later file with a taken key would replace the earlier one within the same run: it is
    refused instead, as a failure that says what to do. The same file named twice is read once.
    """
    first: dict[str, Source] = {}
    kept = []
    for source in sources:
        other = first.setdefault(source.key, source)
        if other is source:
            kept.append(source)
        elif not (source.origin and source.origin == other.origin):
            report.seen += 1
            report.failed.append(FileFailure(source.shown, _same_key(source.key, other)))
    return kept


def _same_key(key: str, other: Source) -> str:
    return (
        f"与同一次导入的 {other.shown} 都记作“{key}”，未导入，以免两份文件互相覆盖"
        "（请把其中一个文件或其所在文件夹改名后再导入）"
    )


def _replaced_from(key: str, stored_origin: str) -> str:
    return (
        f"已替换知识库中同样记作“{key}”的文件，它原本来自 {describe_origin(stored_origin)}"
        "（若两者不是同一份文件，请把这一份改名后重新导入，再从原处重新导入原来的文件）"
    )


def _chunks(doc: ParsedDocument) -> list[ChunkDraft]:
    if doc.rows is not None:
        return doc.rows
    legal = is_legal_text(doc.body)
    if legal:
        doc.doc_type = DocType.LAW
    return split_document(doc.body, legal=legal)


def _classify(doc: ParsedDocument, key: str, chunks: list[ChunkDraft]) -> None:
    if "案例" in PurePosixPath(key).parts[:-1]:
        doc.doc_type = DocType.CASE
    # A case's title starts with a party (中山市某公司诉…), not with the place that made a rule.
    title = "" if doc.doc_type is DocType.CASE else doc.title
    doc.province, doc.city = jurisdiction.infer(key, title)


def title_words(title: str, subtitle: str) -> str:
    return index_text(f"{short_title(title)} {subtitle}".strip())


def _entry(
    document_id: int,
    seq: int,
    kb_id: int,
    doc: ParsedDocument,
    chunk: ChunkDraft,
    title: str,
) -> IndexEntry:
    heading = " ".join(chunk.heading_path)
    return IndexEntry(
        document_id=document_id,
        seq=seq,
        kb_id=kb_id,
        doc_type=doc.doc_type.value,
        version_date=doc.version_date,
        title_text=title,
        body_text=f"{index_text(heading)} {index_text(chunk.text)}",
    )
