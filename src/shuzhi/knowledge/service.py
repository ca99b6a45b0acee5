"""The knowledge service: create bases, import into them, search them, answer from them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Row, func, select

from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput, ModelError, NotFound, PermissionDenied
from shuzhi.knowledge import answer, dense, jurisdiction, thesaurus
from shuzhi.knowledge._text import to_chinese_number
from shuzhi.knowledge.answer import ChatGateway
from shuzhi.knowledge.backends import Hit, SearchBackend, SearchRequest, make_backend
from shuzhi.knowledge.catalog import Catalog, DocInfo, short_title
from shuzhi.knowledge.citations import Citation, citations, holds_in_order, is_law_title
from shuzhi.knowledge.dense import Embedder, GatewayEmbedder, VectorStore
from shuzhi.knowledge.ingest import Importer, Progress, Source, sources_from_paths, upload_origin
from shuzhi.knowledge.model import Answer, Grade, ImportReport, Passage, SearchFilters
from shuzhi.knowledge.ranking import Question, Ranked, analyse, by_coverage, normalised, rerank
from shuzhi.knowledge.within import ArticleScorer, question_pairs
from shuzhi.storage.db import Database
from shuzhi.storage.models import KbChunk, KbDocument, KnowledgeBase
from shuzhi.validation import check_name

if TYPE_CHECKING:
    from shuzhi.gateway import Gateway

log = logging.getLogger(__name__)

CANDIDATES = 60
BASE_CACHE_SECONDS = 2.0
NAMED_LAW_CANDIDATES = 30
WITHIN_CANDIDATES = 60  # articles of a named text ranked by shared character pairs
DENSE_CANDIDATES = 60
KbRef = str | int | KnowledgeBase
URL_UNSAFE = frozenset("/\\?#%")


class KnowledgeService:
    """One per process (it caches the document catalogue); safe to share between threads.

    ``embedder`` turns on dense retrieval: ``"auto"`` (the default) uses the gateway's embedding
    endpoint whenever one is configured (``gateway``, or one the service opens itself), None
    keeps search full text only, or pass an :class:`~shuzhi.knowledge.dense.Embedder` such as
    :class:`~shuzhi.knowledge.dense.LocalEmbedder`. ``dense_weight`` scales the dense list in the
    fusion (1: plain reciprocal rank fusion; lower it for a weak embedding model).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        backend: str | None = None,
        embedder: Embedder | Literal["auto"] | None = "auto",
        gateway: Gateway | None = None,
        dense_weight: float = 1.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.backend: SearchBackend = make_backend(db, settings, backend)
        self.catalog = Catalog(db)
        self.vectors = VectorStore(db)
        self.home = jurisdiction.Home.of(settings.place, settings.province)
        self.thesaurus = thesaurus.for_settings(settings)  # a bad local file: ConfigError here
        self._bases: dict[str | int, tuple[float, KnowledgeBase]] = {}
        self._embedder = embedder
        self._gateway = gateway
        self._own_gateway: Gateway | None = None
        self.dense_weight = dense_weight
        self.articles = ArticleScorer(self._document_chunks)
        self._articles_loaded = -1

    def embedder(self) -> Embedder | None:
        """The embedding model source in use, or None (full text only)."""
        if self._embedder != "auto":
            return self._embedder
        if self._gateway is None and self._own_gateway is None:
            from shuzhi.gateway import Gateway

            self._own_gateway = Gateway(self.db, self.settings)
        gateway = self._gateway or self._own_gateway
        assert gateway is not None
        self._embedder = GatewayEmbedder(gateway)
        return self._embedder

    def close(self) -> None:
        """Release the gateway the service opened for embeddings (usage rows are flushed)."""
        if self._own_gateway is not None:
            self._own_gateway.close()
            self._own_gateway = None
            self._embedder = "auto"

    # -- knowledge bases -------------------------------------------------------------------

    def create(
        self,
        name: str,
        department_id: int | None = None,
        grade: Grade | str = Grade.INTERNAL,
        description: str = "",
    ) -> KnowledgeBase:
        name = name.strip()
        if not name or len(name) > 128:
            raise InvalidInput(
                "知识库名称不能为空，且不超过 128 个字", hint=f"收到 {len(name)} 个字"
            )
        check_name(name, "知识库名称")
        if any(c in URL_UNSAFE for c in name) or not name.strip("."):  # /api/kb/{name}/…
            raise InvalidInput(
                "知识库名称不能含 / \\ ? # % 这些字符，也不能只由点组成",
                hint="它们在网址里另有含义，请换一个名称",
            )
        check_name(description, "知识库说明", multiline=True)
        grade = _grade(grade)
        with self.db.session() as session:
            if session.scalar(select(KnowledgeBase.id).where(KnowledgeBase.name == name)):
                raise Conflict(f"知识库“{name}”已存在", hint="换一个名称，或直接向它导入文件")
            kb = KnowledgeBase(
                name=name, department_id=department_id, grade=grade.value, description=description
            )
            session.add(kb)
            session.flush()
        return kb

    def get(self, ref: KbRef) -> KnowledgeBase:
        if isinstance(ref, KnowledgeBase):
            return ref
        cached = self._bases.get(ref)
        if cached is not None and time.monotonic() - cached[0] < BASE_CACHE_SECONDS:
            return cached[1]
        with self.db.session() as session:
            column = KnowledgeBase.id if isinstance(ref, int) else KnowledgeBase.name
            kb = session.scalar(select(KnowledgeBase).where(column == ref))
        if kb is None:
            raise NotFound(
                f"知识库不存在：{ref}", hint="用 `shuzhi kb list` 查看，或先 `shuzhi kb create`"
            )
        self._bases[ref] = (time.monotonic(), kb)
        return kb

    def list_bases(self) -> list[tuple[KnowledgeBase, int, int]]:
        """Every base with its number of documents and chunks."""
        with self.db.session() as session:
            rows = session.execute(
                select(
                    KnowledgeBase,
                    func.count(KbDocument.id),
                    func.coalesce(func.sum(KbDocument.n_chunks), 0),
                )
                .outerjoin(KbDocument, KbDocument.kb_id == KnowledgeBase.id)
                .group_by(KnowledgeBase.id)
                .order_by(KnowledgeBase.name)
            ).all()
        return [(kb, int(docs), int(chunks)) for kb, docs, chunks in rows]

    def delete(self, ref: KbRef) -> None:
        kb = self.get(ref)
        self.backend.clear([kb.id])
        with self.db.session() as session:
            session.delete(session.get(KnowledgeBase, kb.id))
        self.catalog.invalidate()
        self._bases.clear()

    # -- import ----------------------------------------------------------------------------

    def import_paths(
        self, kb: KbRef, paths: Sequence[Path | str], progress: Progress | None = None
    ) -> ImportReport:
        """Import files and folders. Unchanged files are skipped; changed files replaced."""
        sources = list(sources_from_paths(Path(p) for p in paths))
        return self.import_sources(kb, sources, progress)

    def import_upload(
        self, kb: KbRef, filename: str, data: bytes, uploader: str | None = None
    ) -> ImportReport:
        """Import one uploaded file; it is identified by its name within the base.

        ``uploader`` (the account) is recorded, so a same-named upload by another account says
        in the report that it replaced that account's file.
        """
        name = Path(filename).name
        if not name:
            raise InvalidInput("上传的文件没有文件名", hint="请带上文件名（含扩展名）重新上传")
        source = Source(f"upload/{name}", lambda: data, upload_origin(uploader))
        return self.import_sources(kb, [source])

    def import_sources(
        self, kb: KbRef, sources: Sequence[Source], progress: Progress | None = None
    ) -> ImportReport:
        base = self.get(kb)
        try:
            report = Importer(self.db, self.backend, base.id).run(sources, progress)
        finally:
            self.catalog.invalidate()
        report.embedded, report.embedding_error = self._embed_quietly(base)
        return report

    def reindex(self, kb: KbRef) -> int:
        """Rebuild the search index of a base from its stored chunks; returns the chunk count."""
        base = self.get(kb)
        with self.db.session() as session:
            ids = list(session.scalars(select(KbDocument.id).where(KbDocument.kb_id == base.id)))
        self.backend.clear([base.id])
        count = Importer(self.db, self.backend, base.id).reindex_documents(ids)
        self.catalog.invalidate()
        self._embed_quietly(base)
        return count

    def embed_missing(self, kb: KbRef, progress: Progress | None = None) -> int:
        """Give every chunk of the base without one a vector in the current embedding model.

        Returns how many were embedded; 0 without an embedding model. Raises ModelError when the
        model fails (what was embedded so far is kept: the next call goes on from there).
        """
        base = self.get(kb)
        embedder = self.embedder()
        space = embedder.space() if embedder else None
        if embedder is None or space is None:
            return 0
        done, total = 0, self._chunk_count(base.id)
        while rows := self.vectors.missing(base.id, space, dense.EMBED_BATCH * 16):
            for start in range(0, len(rows), dense.EMBED_BATCH):
                part = rows[start : start + dense.EMBED_BATCH]
                result = embedder.embed([text for *_, text in part])
                if result.model != space:
                    log.warning(
                        "kb %s: embeddings came from %s, not %s", base.id, result.model, space
                    )
                    return done
                keys = [(chunk_id, doc_id, seq) for chunk_id, doc_id, seq, _ in part]
                self.vectors.add(base.id, space, keys, dense.normalised(result.vectors))
                done += len(part)
                if progress is not None:
                    progress(total - len(rows) + start + len(part), total, "向量")
        return done

    def _embed_quietly(self, base: KnowledgeBase) -> tuple[int, str]:
        try:
            return self.embed_missing(base), ""
        except ModelError as exc:
            log.warning("kb %s: embedding stopped (%s); full text still works", base.id, exc.code)
            return 0, str(exc)

    def _chunk_count(self, kb_id: int) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(select(func.count(KbChunk.id)).where(KbChunk.kb_id == kb_id)) or 0
            )

    # -- search ----------------------------------------------------------------------------

    def search(
        self,
        kbs: KbRef | Sequence[KbRef],
        query: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        *,
        grades: Collection[Grade | str] | None = None,
        departments: Collection[int] | None = None,
    ) -> list[Passage]:
        """Top ``k`` passages for ``query`` with citations.

        ``grades`` and ``departments`` are what the caller may read (the platform decides; None
        means no limit): a base outside them raises PermissionDenied rather than hiding silently.
        """
        if not query.strip():
            raise InvalidInput("检索内容不能为空", hint="请输入要查询的问题或关键词")
        bases = self.readable(kbs, grades, departments)
        filters = filters or SearchFilters()
        self.catalog.refresh()
        question = analyse(query, self.catalog, self.home, self.thesaurus)
        ranked, rows = self._rank(question, [kb.id for kb in bases], filters)
        k = max(1, k)
        # Twice as many as asked: copies of one text filed in two folders give one passage.
        return self._passages(ranked[: 2 * k], {kb.id: kb.name for kb in bases}, rows)[:k]

    def readable(
        self,
        kbs: KbRef | Sequence[KbRef],
        grades: Collection[Grade | str] | None = None,
        departments: Collection[int] | None = None,
    ) -> list[KnowledgeBase]:
        refs = [kbs] if isinstance(kbs, str | int | KnowledgeBase) else list(kbs)
        if not refs:
            raise InvalidInput("至少指定一个知识库", hint="传入知识库名称")
        bases = [self.get(ref) for ref in refs]
        allowed = {_grade(g) for g in grades} if grades is not None else None
        for kb in bases:
            _check_access(kb, allowed, departments)
        return bases

    def missing_citation(
        self,
        kbs: KbRef | Sequence[KbRef],
        question: str,
        *,
        grades: Collection[Grade | str] | None = None,
        departments: Collection[int] | None = None,
    ) -> str | None:
        """Why the bases cannot hold what ``question`` cites, or None.

        "刑法第二十条" asked of a base without 刑法 would otherwise be answered with another
        law's 第二十条, and "劳动法第999条" with the article nearest in words; neither may be
        offered as support. Each citation (:mod:`.citations`) is checked: a text the bases lack,
        an article past the end of the text cited, or, with no text named, an article number no
        text of the bases has. The first problem found is said.
        """
        bases = self.readable(kbs, grades, departments)
        self.catalog.refresh()
        cited_all = citations(normalised(question))
        if not cited_all:  # most questions: no pass over the catalogue
            return None
        kb_ids = {kb.id for kb in bases}
        held = [
            info
            for info in self.catalog.docs.values()
            if info.kb_id in kb_ids and not self.catalog.is_superseded(info)
        ]
        for cited in cited_all:
            docs = self._cited_documents(cited, held)
            if docs is None:
                return f"所查知识库中没有《{cited.title}》，无法回答其中的条文"
            if cited.article_no is None or (cited.title and not docs):
                continue
            problem = self._missing_article(cited, docs or held)
            if problem:
                return problem
        return None

    def _cited_documents(self, cited: Citation, held: list[DocInfo]) -> list[DocInfo] | None:
        """The held documents a citation's title names; [] when it names no title or one that
        cannot be told from plain words; None when it names a law the bases lack."""
        if not cited.title:
            return []
        keys = {key for found in self.catalog.titles_in(cited.title).values() for key in found}
        if keys:
            return [info for info in held if info.law_key in keys] or None
        loose = [info for info in held if holds_in_order(cited.title, short_title(info.title))]
        if loose:
            return loose
        return None if is_law_title(cited) else []

    def _missing_article(self, cited: Citation, docs: list[DocInfo]) -> str | None:
        with self.db.session() as session:
            last, found = session.execute(
                select(
                    func.max(KbChunk.article_no),
                    func.count(KbChunk.id).filter(KbChunk.article_no == cited.article_no),
                ).where(KbChunk.document_id.in_([info.id for info in docs]))
            ).one()
        if last is None or found:
            return None  # texts without numbered articles, or the article is there
        if not cited.title:
            return f"所查知识库中没有哪部文本有{cited.article_ref}，请核对条文序号"
        count = to_chinese_number(int(last))
        title = docs[0].title
        return f"《{title}》没有{cited.article_ref}（共{count}条），请核对条文序号"

    def ask(
        self,
        kbs: KbRef | Sequence[KbRef],
        question: str,
        gateway: ChatGateway | None = None,
        citation_required: bool = True,
        **options: Any,
    ) -> Answer:
        """Answer from the bases; see :func:`shuzhi.knowledge.answer.ask` for the options."""
        return answer.ask(self, kbs, question, gateway, citation_required, **options)

    def _rank(
        self, question: Question, kb_ids: list[int], filters: SearchFilters
    ) -> tuple[list[Ranked], dict[tuple[int, int], Row[Any]]]:
        """Candidates best first, and the stored chunks read on the way (for the passages)."""
        everything = self.catalog.kb_ids <= set(kb_ids)
        request = SearchRequest(
            words=question.words,
            kb_ids=None if everything else kb_ids,
            limit=CANDIDATES,
            doc_types=filters.doc_types,
            date_from=filters.date_from,
            date_to=filters.date_to,
        )
        hits = self.backend.search(request)
        named = self._named_documents(question, kb_ids)
        cited: list[Hit] = []
        if named:
            within = _restricted(request, question.content_words, named, NAMED_LAW_CANDIDATES)
            hits += self.backend.search(within)
            cited = self._cited_article(question, named, hits)
            hits = cited + hits
        ranked = rerank(hits, question, self.catalog, self.home, filters)
        rows = self._chunk_rows([(r.document_id, r.seq) for r in ranked])
        ranked = self._covered(ranked, question, rows)
        if named:
            ranked = self._with_named_articles(ranked, question, named, request, filters)
        if cited:  # 劳动合同法第四条: that article first, whatever the fusions made of it
            keys = {(h.document_id, h.seq) for h in cited}
            ranked = [r for r in ranked if (r.document_id, r.seq) in keys] + [
                r for r in ranked if (r.document_id, r.seq) not in keys
            ]
        nearest = self._dense_hits(question, request)
        if not nearest:
            return ranked, rows
        near = rerank(nearest, question, self.catalog, self.home, filters)
        return _fused(ranked[:CANDIDATES], near, self.dense_weight), rows

    def _covered(
        self, ranked: list[Ranked], question: Question, rows: dict[tuple[int, int], Row[Any]]
    ) -> list[Ranked]:
        """Reweigh the candidates by the share of the question each one covers."""
        if not ranked:
            return ranked
        docs = self.catalog.docs
        titles: dict[int, str] = {}
        texts: dict[tuple[int, int], str] = {}
        for key, row in rows.items():
            info = docs.get(key[0])
            if info is None:
                continue
            title = titles.get(info.id)
            if title is None:
                title = titles[info.id] = info.title.lower()
            texts[key] = f"{title}\n{row.text.lower()}"
        return by_coverage(ranked, question, texts, self.backend.word_weights(question.words))

    def _chunk_rows(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Row[Any]]:
        """The stored chunks for (document_id, seq) keys, in one statement."""
        if not keys:
            return {}
        # Literal integers in a VALUES list joined on the (document_id, seq) index: both
        # databases look each key up, where IN lists of both columns read their cross product.
        values = ", ".join(f"({int(d)}, {int(s)})" for d, s in dict.fromkeys(keys))
        with self.db.engine.connect() as conn:
            found = conn.exec_driver_sql(_CHUNKS_BY_KEY.format(values=values))
            return {(r.document_id, r.seq): r for r in found}

    def _dense_hits(self, question: Question, request: SearchRequest) -> list[Hit]:
        """Nearest chunks by embedding; [] without a model, or when the model fails."""
        embedder = self.embedder()
        space = embedder.space() if embedder else None
        if embedder is None or space is None:
            return []
        try:
            result = embedder.embed([question.text], query=True)
        except ModelError as exc:
            log.warning("dense retrieval skipped: %s", exc.code)
            return []
        if result.model != space or not result.vectors:
            return []
        docs = self.catalog.docs
        found = self.vectors.search(
            space,
            result.vectors[0],
            DENSE_CANDIDATES,
            request.kb_ids,
            keep=lambda doc_id: doc_id in docs and _passes(docs[doc_id], request),
        )
        return [Hit(doc_id, seq, score) for doc_id, seq, score in found]

    def _named_documents(self, question: Question, kb_ids: list[int]) -> list[int]:
        if not question.law_keys:
            return []
        wanted = set(kb_ids)
        return [
            d.id
            for key in sorted(question.law_keys)
            for d in self.catalog.by_law_key.get(key, ())
            if d.kb_id in wanted
        ]

    def _with_named_articles(
        self,
        ranked: list[Ranked],
        question: Question,
        named: list[int],
        request: SearchRequest,
        filters: SearchFilters,
    ) -> list[Ranked]:
        """The word ranking fused by rank with the named texts' articles by character pairs."""
        if self._articles_loaded != self.catalog.loads:
            self.articles.clear()
            self._articles_loaded = self.catalog.loads
        wanted = question_pairs(question.text, question.title_spans, question.content_words)
        scored: list[tuple[float, int, int]] = []
        for doc_id in named:
            info = self.catalog.docs.get(doc_id)
            if info is None or not _passes(info, request):
                continue
            if not filters.all_versions and self.catalog.is_superseded(info):
                continue
            if wanted:
                ranked_here = self.articles.rank(doc_id, wanted)
            else:  # the text's name alone (消法): its opening articles, purpose and scope
                ranked_here = self.articles.opening(doc_id)
            scored += [(score, doc_id, seq) for seq, score in ranked_here]
        if not scored:
            return ranked
        scored.sort(reverse=True)
        fused = dense.rrf(
            [(r.document_id, r.seq) for r in ranked],
            [(doc_id, seq) for _, doc_id, seq in scored[:WITHIN_CANDIDATES]],
        )
        return [Ranked(doc_id, seq, score) for (doc_id, seq), score in fused]

    def _document_chunks(self, document_id: int) -> list[tuple[int, str]]:
        with self.db.session() as session:
            rows = session.execute(
                select(KbChunk.seq, KbChunk.text).where(KbChunk.document_id == document_id)
            ).all()
        return [(int(seq), str(text)) for seq, text in rows]

    def _cited_article(self, question: Question, named: list[int], hits: list[Hit]) -> list[Hit]:
        """A question citing 第X条 of a law it names gets that article first."""
        if question.article_no is None:
            return []
        with self.db.session() as session:
            rows = session.execute(
                select(KbChunk.document_id, KbChunk.seq).where(
                    KbChunk.document_id.in_(named), KbChunk.article_no == question.article_no
                )
            ).all()
        top = max((h.score for h in hits), default=1.0)
        return [Hit(int(doc_id), int(seq), top * 10) for doc_id, seq in rows]

    def _passages(
        self,
        ranked: list[Ranked],
        kb_names: dict[int, str],
        rows: dict[tuple[int, int], Row[Any]] | None = None,
    ) -> list[Passage]:
        if not ranked:
            return []
        keys = [(r.document_id, r.seq) for r in ranked]
        rows = dict(rows or {})
        missing = [key for key in keys if key not in rows]
        rows.update(self._chunk_rows(missing))
        passages = []
        seen: set[tuple[str, str, str]] = set()
        for item in ranked:
            chunk = rows.get((item.document_id, item.seq))
            info = self.catalog.docs.get(item.document_id)
            if chunk is None or info is None:
                continue
            same = (info.law_key, chunk.anchor, chunk.text)  # the same article of a copy
            if same in seen:
                continue
            seen.add(same)
            passages.append(
                Passage(
                    kb=kb_names.get(info.kb_id, ""),
                    document_id=info.id,
                    chunk_id=chunk.id,
                    document_title=info.title,
                    anchor=chunk.anchor,
                    version_date=info.version_date,
                    heading_path=_json_list(chunk.heading_path),
                    text=chunk.text,
                    score=item.score,
                    doc_type=info.doc_type,
                    jurisdiction=jurisdiction.label(info.province, info.city),
                )
            )
        return passages


# Plain SQL: this runs on every search (for every candidate, since coverage reads the texts).
_CHUNKS_BY_KEY = (
    "WITH k(d, s) AS (VALUES {values}) "
    "SELECT c.id, c.document_id, c.seq, c.anchor, c.heading_path, c.text "
    "FROM k JOIN kb_chunks c ON c.document_id = k.d AND c.seq = k.s"
)


def _fused(fulltext: list[Ranked], nearest: list[Ranked], weight: float) -> list[Ranked]:
    """Reciprocal rank fusion of the reranked full-text and dense lists."""
    fused = dense.rrf(
        [(r.document_id, r.seq) for r in fulltext],
        [(r.document_id, r.seq) for r in nearest],
        weights=(1.0, weight),
    )
    return [Ranked(doc_id, seq, score) for (doc_id, seq), score in fused]


def _passes(info: DocInfo, request: SearchRequest) -> bool:
    """The document filters of a search, for dense hits (the full-text index applies its own)."""
    if request.doc_types and info.doc_type not in request.doc_types:
        return False
    if request.date_from and (info.version_date is None or info.version_date < request.date_from):
        return False
    return not (
        request.date_to and (info.version_date is None or info.version_date > request.date_to)
    )


def _json_list(value: object) -> list[str]:
    """JSON columns come back decoded on PostgreSQL and as text from plain SQL on SQLite."""
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value] if isinstance(value, list) else []


def _restricted(
    request: SearchRequest, words: list[str], document_ids: list[int], limit: int
) -> SearchRequest:
    return SearchRequest(
        words=words or request.words,
        kb_ids=request.kb_ids,
        limit=limit,
        doc_types=request.doc_types,
        date_from=request.date_from,
        date_to=request.date_to,
        document_ids=document_ids,
    )


def _grade(value: Grade | str) -> Grade:
    try:
        return Grade(value)
    except ValueError:
        names = "、".join(g.value for g in Grade)
        raise InvalidInput(f"未知的密级：{value!r}", hint=f"可选：{names}") from None


def _check_access(
    kb: KnowledgeBase, grades: set[Grade] | None, departments: Collection[int] | None
) -> None:
    """Data Security Law Art. 21: access follows the grade. A non-public base owned by a
    department stays in it unless the caller may read every department (``departments`` None);
    a base owned by no department is shared across the government."""
    if grades is not None and Grade(kb.grade) not in grades:
        raise PermissionDenied(
            f"无权读取知识库“{kb.name}”（密级：{kb.grade}）", hint="请联系知识库所属部门授权"
        )
    owned = kb.department_id is not None
    if (
        departments is not None
        and owned
        and kb.grade != Grade.PUBLIC
        and kb.department_id not in departments
    ):
        raise PermissionDenied(
            f"知识库“{kb.name}”属于其他部门，当前账号无权读取", hint="请联系知识库所属部门授权"
        )
