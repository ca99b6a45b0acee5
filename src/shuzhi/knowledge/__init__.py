"""Knowledge bases: Chinese retrieval with citations over laws, policies and service guides.

Public API (everything else in this package is internal)::

    from shuzhi.knowledge import KnowledgeService, SearchFilters, Grade

    service = KnowledgeService(db, settings)            # one per process; caches the catalogue
    service.create("法规库", department_id=None, grade=Grade.PUBLIC)
    report = service.import_paths("法规库", [Path("laws/")], progress=lambda done, total, key: ...)
    passages = service.search(["法规库"], "工伤认定决定多久作出", k=5)
    passages[0].citation      # '《工伤保险条例》第二十条（2010-12-20）'
    answer = service.ask(["法规库"], "工伤认定决定多久作出", gateway=None)
    answer.mode               # shuzhi.aigc.Mode.OFFLINE: the cited passages, labelled as extracted

Access: ``search``/``ask`` take ``grades`` (the grades the caller may read:
``readable_grades(principal.can)``) and ``departments`` (the department ids it may read; None =
all). The platform decides both; a base outside them raises :class:`shuzhi.errors.PermissionDenied`.

Imports are idempotent and resumable (content hash per document), so a job can re-run
``import_paths`` after a crash; ``progress(done, total, key)`` reports each file.
"""

from shuzhi.knowledge.answer import ask
from shuzhi.knowledge.model import (
    Answer,
    DocType,
    FileFailure,
    FileNote,
    Grade,
    ImportReport,
    Passage,
    SearchFilters,
    readable_grades,
)
from shuzhi.knowledge.service import KnowledgeService

__all__ = [
    "Answer",
    "DocType",
    "FileFailure",
    "FileNote",
    "Grade",
    "ImportReport",
    "KnowledgeService",
    "Passage",
    "SearchFilters",
    "ask",
    "readable_grades",
]
