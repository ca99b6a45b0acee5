"""Plain records passed around inside the knowledge package and returned to its callers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shuzhi.aigc import Mode


class Grade(StrEnum):
    """Security grade of a knowledge base (Data Security Law Art. 21: access follows the grade)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


READ_RESTRICTED = "kb.read_restricted"


def readable_grades(can: Callable[[str], bool]) -> list[Grade]:
    """The grades a reader may see: public and internal with ``kb.read`` (checked by the route),
    restricted only with ``kb.read_restricted``. ``can`` is e.g. ``Principal.can``."""
    grades = [Grade.PUBLIC, Grade.INTERNAL]
    return [*grades, Grade.RESTRICTED] if can(READ_RESTRICTED) else grades


class DocType(StrEnum):
    LAW = "law"  # split by chapter and article
    QA = "qa"  # a spreadsheet row: question and answer, or a service-guide item
    CASE = "case"  # a court case or other reference text under the law corpus
    GUIDE = "guide"  # anything else: guides, notices, policies


@dataclass
class ChunkDraft:
    """A passage cut from a document, before it is stored."""

    text: str
    heading_path: list[str] = field(default_factory=list)
    anchor: str = ""
    article_no: int | None = None


@dataclass
class ParsedDocument:
    """A file read into text, with what the file tells about itself."""

    title: str
    body: str = ""
    subtitle: str = ""
    version_date: date | None = None
    doc_type: DocType = DocType.GUIDE
    file_type: str = ""
    province: str = ""
    city: str = ""
    rows: list[ChunkDraft] | None = None  # spreadsheets arrive already cut into one row each


@dataclass(frozen=True)
class SearchFilters:
    """Narrow a search. ``all_versions`` keeps superseded versions of a law in the results."""

    doc_types: frozenset[str] = frozenset()
    date_from: date | None = None
    date_to: date | None = None
    all_versions: bool = False


@dataclass
class Passage:
    """One retrieved passage with everything needed to cite and open it."""

    kb: str
    document_id: int
    chunk_id: int
    document_title: str
    anchor: str
    version_date: date | None
    heading_path: list[str]
    text: str
    score: float
    doc_type: str = ""
    jurisdiction: str = ""

    @property
    def citation(self) -> str:
        """``《工伤保险条例》第二十条（2010-12-20）``: title, article or section, version date."""
        where = self.anchor or (self.heading_path[-1] if self.heading_path else "")
        when = f"（{self.version_date.isoformat()}）" if self.version_date else ""
        return f"《{self.document_title}》{where}{when}"

    def as_source(self) -> dict[str, object]:
        """The JSON shape stored with a message or draft as its recorded source."""
        return {
            "kb": self.kb,
            "document_id": self.document_id,
            "chunk_id": self.chunk_id,
            "title": self.document_title,
            "anchor": self.anchor,
            "version_date": self.version_date.isoformat() if self.version_date else None,
            "citation": self.citation,
            "score": round(self.score, 4),
        }


@dataclass
class Answer:
    """An answer with its sources. ``mode`` says whether a model wrote it or it was extracted."""

    text: str
    citations: list[Passage]
    mode: Mode
    supported: bool
    model: str | None = None
    # What was searched besides the question: the model's rewrites into the texts' own terms.
    rewrites: list[str] = field(default_factory=list)


@dataclass
class FileFailure:
    path: str
    message: str


@dataclass
class FileNote:
    """Something an import did to one file that the person importing must hear about."""

    path: str
    message: str


@dataclass
class ImportReport:
    """What an import did, file by file. Failed files never stop the rest of the batch."""

    seen: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    chunks: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # folder indexes (_index.md), not texts
    removed: list[str] = field(default_factory=list)  # folder indexes stored by older imports
    notes: list[FileNote] = field(default_factory=list)  # e.g. replaced a file from elsewhere
    embedded: int = 0  # chunks given a dense vector (only with an embedding model)
    embedding_error: str = ""  # why embedding stopped; the next import or reindex goes on

    @property
    def ok(self) -> bool:
        return not self.failed
