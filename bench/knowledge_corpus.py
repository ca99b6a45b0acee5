"""Benchmark the knowledge base over the shared law corpus.

    taskset -c 0 .venv/bin/python bench/knowledge_corpus.py            # SQLite + tantivy
    .venv/bin/python bench/knowledge_corpus.py --database-url postgresql+psycopg://...  # PostgreSQL
    taskset -c 0 .venv/bin/python bench/knowledge_corpus.py \
        --questions bench/knowledge_questions.yaml,bench/knowledge_questions_heldout.yaml

Reports import time, index size, query latency (median / p99, search with citations, warm) and
recall@5 / MRR per question set (default bench/knowledge_questions.yaml, the dev set; the first
set named is the one latency, candidate counts and ablations are measured on). Each miss says
where the wanted article was among the candidates: its rank in the full-text hits and after
reranking. Exits quietly when the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from shuzhi.config import Settings
from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge import service as service_module
from shuzhi.knowledge.backends import Hit
from shuzhi.knowledge.evaluation import EvalQuestion, EvalReport, load_questions, score
from shuzhi.knowledge.thesaurus import Thesaurus
from shuzhi.storage.db import Database
from shuzhi.storage.setup import open_database

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "laws"
QUESTIONS = ROOT / "bench" / "knowledge_questions.yaml"
HELDOUT = ROOT / "bench" / "knowledge_questions_heldout.yaml"


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ablations(service: KnowledgeService, questions: list[EvalQuestion]) -> dict[str, object]:
    """Recall/MRR with parts of the ranking switched off, on the same index. "without_reranking"
    keeps the coverage weighting; "without_named_articles" drops the character-pair ranking of a
    named text's articles; "bm25_only" is the full-text search alone: no thesaurus, reranking,
    coverage, nor any extra search of a text the question names."""
    from shuzhi.knowledge import ranking

    def plain(hits: list[Hit], *_: object) -> list[ranking.Ranked]:
        best: dict[tuple[int, int], ranking.Ranked] = {}
        for h in hits:
            best.setdefault((h.document_id, h.seq), ranking.Ranked(h.document_id, h.seq, h.score))
        return sorted(best.values(), key=lambda r: r.score, reverse=True)

    def run() -> dict[str, float]:
        report = EvalReport(
            5, [score(q, service.search("bench-laws", q.q, k=5)) for q in questions]
        )
        return {"recall_at_5": round(report.recall, 3), "mrr": round(report.mrr, 3)}

    def uncovered(ranked: list[ranking.Ranked], *_: object) -> list[ranking.Ranked]:
        return ranked

    def unnamed(*_: object) -> list[int]:
        return []

    out: dict[str, object] = {}
    nothing = Thesaurus({})
    with mock.patch.object(service, "thesaurus", nothing):
        out["without_thesaurus"] = run()
    with mock.patch.object(service_module, "by_coverage", uncovered):
        out["without_coverage"] = run()
    with mock.patch.object(service_module, "rerank", plain):
        out["without_reranking"] = run()
    with mock.patch.object(service, "_with_named_articles", uncovered):
        out["without_named_articles"] = run()
    with (
        mock.patch.object(service, "_named_documents", unnamed),
        mock.patch.object(service, "thesaurus", nothing),
        mock.patch.object(service_module, "rerank", plain),
        mock.patch.object(service_module, "by_coverage", uncovered),
    ):
        out["bm25_only"] = run()
    return out


def vacuum_analyse(db: Database) -> float | None:
    """On PostgreSQL, what autovacuum does after a big import: planner statistics and the
    visibility map (index-only scans). Done here because this server may run without it."""
    if db.dialect != "postgresql":
        return None
    from sqlalchemy import text

    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) kb_postings, kb_terms, kb_documents, kb_chunks"))
    return round(time.perf_counter() - started, 1)


def candidate_ranks(service: KnowledgeService, question: EvalQuestion) -> dict[str, int | None]:
    """Where the wanted passage is among the candidates of a missed question (1-based), in the
    full-text hits and after reranking; None when it is not among them at all."""
    from shuzhi.knowledge.model import SearchFilters
    from shuzhi.knowledge.ranking import Ranked, analyse

    kb = service.get("bench-laws")
    analysed = analyse(question.q, service.catalog, service.home, service.thesaurus)
    request = service_module.SearchRequest(
        words=analysed.words, kb_ids=[kb.id], limit=service_module.CANDIDATES
    )
    fulltext = service.backend.search(request)
    reranked, _ = service._rank(analysed, [kb.id], SearchFilters())

    def first(keys: list[tuple[int, int]]) -> int | None:
        passages = service._passages([Ranked(d, s, 0.0) for d, s in keys], {kb.id: kb.name})
        return next((i for i, p in enumerate(passages, start=1) if question.matches(p)), None)

    return {
        "fulltext_rank": first([(h.document_id, h.seq) for h in fulltext]),
        "reranked_rank": first([(r.document_id, r.seq) for r in reranked]),
        "candidates": len(reranked),
    }


def quality(service: KnowledgeService, questions: list[EvalQuestion]) -> dict[str, object]:
    """Recall@5 / MRR of one question set, with each miss located among the candidates."""
    evaluation = EvalReport(
        5, [score(q, service.search("bench-laws", q.q, k=5)) for q in questions]
    )
    return {
        "questions": len(questions),
        "recall_at_5": round(evaluation.recall, 3),
        "mrr": round(evaluation.mrr, 3),
        "hits": sum(1 for r in evaluation.results if r.rank),
        "misses": [
            {
                "q": m.question.q,
                "want": f"{m.question.doc} {m.question.article}",
                "got": m.got[:2],
                **candidate_ranks(service, m.question),
            }
            for m in evaluation.misses
        ],
    }


def rewrite_run(
    db: Database, settings: Settings, sets: dict[str, list[EvalQuestion]], target: str
) -> dict[str, object]:
    """Recall/MRR when a model rewrites each question first (``kb ask`` with a model), against a
    real endpoint given as ``URL,MODEL`` (key from ``SHUZHI_BENCH_API_KEY``), or ``scripted``
    (the shipped server answers "echo: <question>", which adds nothing: plumbing only)."""
    from shuzhi.gateway import Gateway
    from shuzhi.gateway.registry import EndpointSpec, add_endpoint
    from shuzhi.gateway.testing import ScriptedModelServer
    from shuzhi.knowledge.answer import rewrite_question, search_all

    server = ScriptedModelServer() if target == "scripted" else None
    if server is not None:
        url, model = server.start().base_url, "deepseek-chat"
    else:
        url, _, model = target.partition(",")
    spec = EndpointSpec(
        name="bench-rewrite",
        base_url=url,
        model=model,
        api_key_env="SHUZHI_BENCH_API_KEY" if server is None else None,
    )
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="bench")
    gateway = Gateway(db, settings)
    service = KnowledgeService(db, settings, embedder=None)
    out: dict[str, object] = {"endpoint_model": model}
    try:
        for name, questions in sets.items():
            results, rewritten, calls = [], 0, 0.0
            for q in questions:
                started = time.perf_counter()
                rewrites = rewrite_question(gateway, q.q)
                calls += time.perf_counter() - started
                rewritten += bool(rewrites)
                results.append(score(q, search_all(service, "bench-laws", [q.q, *rewrites])))
            report = EvalReport(5, results)
            out[name] = {
                "recall_at_5": round(report.recall, 3),
                "mrr": round(report.mrr, 3),
                "questions_rewritten": rewritten,
                "rewrite_seconds_mean": round(calls / max(1, len(questions)), 2),
            }
    finally:
        gateway.close()
        if server is not None:
            server.stop()
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def measure(
    service: KnowledgeService, questions: list[EvalQuestion], rounds: int
) -> dict[str, object]:
    """Recall@5 / MRR once, then latency (wall and CPU) over ``rounds`` passes, warm."""
    evaluation = EvalReport(
        5, [score(q, service.search("bench-laws", q.q, k=5)) for q in questions]
    )
    timings, cpu_timings = [], []
    for _ in range(rounds):
        for q in questions:
            t, c = time.perf_counter(), time.process_time()
            service.search("bench-laws", q.q, k=5)
            timings.append((time.perf_counter() - t) * 1000)
            cpu_timings.append((time.process_time() - c) * 1000)
    return {
        "questions": len(questions),
        "recall_at_5": round(evaluation.recall, 3),
        "mrr": round(evaluation.mrr, 3),
        "queries": len(timings),
        "latency_ms_median": round(statistics.median(timings), 2),
        "latency_ms_p99": round(percentile(timings, 0.99), 2),
        "cpu_ms_median": round(statistics.median(cpu_timings), 2),
        "cpu_ms_p99": round(percentile(cpu_timings, 0.99), 2),
        "misses": [
            {"q": m.question.q, "want": f"{m.question.doc} {m.question.article}", "got": m.got[:2]}
            for m in evaluation.misses
        ],
    }


def _short(result: dict[str, object]) -> dict[str, object]:
    keep = ("recall_at_5", "mrr", "cpu_ms_median", "cpu_ms_p99", "latency_ms_median")
    return {k: result[k] for k in keep if k in result}


def local_dense_run(
    db: Database, settings: Settings, sets: dict[str, list[EvalQuestion]]
) -> dict[str, object]:
    """Embed every chunk with the bundled multilingual-e5-small, then score each set fused."""
    from shuzhi.knowledge.dense import LocalEmbedder

    service = KnowledgeService(db, settings, embedder=LocalEmbedder(threads=os.cpu_count()))
    started, cpu = time.perf_counter(), time.process_time()
    embedded = service.embed_missing("bench-laws")
    embed_seconds, embed_cpu = time.perf_counter() - started, time.process_time() - cpu
    by_weight: dict[str, object] = {}
    for weight in (1.0, 0.5):
        service.dense_weight = weight
        by_weight[str(weight)] = {name: _short(quality(service, qs)) for name, qs in sets.items()}
    return {
        "embedding": LocalEmbedder.MODEL,
        "chunks_embedded": embedded,
        "embed_seconds": round(embed_seconds, 1),
        "embed_cpu_seconds": round(embed_cpu, 1),
        "fused_by_dense_weight": by_weight,
    }


def dense_run(
    db: Database, settings: Settings, questions: list[EvalQuestion], rounds: int
) -> dict[str, object]:
    """Embed every chunk through the gateway (scripted endpoint), then measure fused search."""
    from shuzhi.gateway import Gateway
    from shuzhi.gateway.registry import EndpointSpec, add_endpoint
    from shuzhi.gateway.testing import ScriptedModelServer

    with ScriptedModelServer() as server:
        spec = EndpointSpec(
            name="bench-embedding",
            base_url=server.base_url,
            model="scripted-embedding",
            kind="embedding",
            trust_zone="inside",
        )
        with db.session() as session:
            add_endpoint(session, settings, spec, actor="bench")
        gateway = Gateway(db, settings)
        service = KnowledgeService(db, settings, gateway=gateway)
        started, cpu = time.perf_counter(), time.process_time()
        embedded = service.embed_missing("bench-laws")
        embed_seconds, embed_cpu = time.perf_counter() - started, time.process_time() - cpu
        service.search("bench-laws", questions[0].q)  # load the vectors once
        result = measure(service, questions, rounds)
        by_weight = {}
        for weight in (0.5, 0.25):
            service.dense_weight = weight
            by_weight[str(weight)] = measure(service, questions, 1)
        gateway.close()
    return {
        "embedding": "scripted n-gram hashing, 256 dimensions (plumbing, not a language model)",
        "chunks_embedded": embedded,
        "embed_seconds": round(embed_seconds, 1),
        "embed_cpu_seconds": round(embed_cpu, 1),
        **result,
        "dense_weight_compared": {
            w: {"recall_at_5": m["recall_at_5"], "mrr": m["mrr"]} for w, m in by_weight.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the questions")
    parser.add_argument(
        "--questions",
        default=str(QUESTIONS),
        help="comma-separated question files, each reported on its own (recall@5, MRR, misses); "
        f"latency, candidate counts and ablations use the first. Held-out set: {HELDOUT.name}",
    )
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="skip latency rounds, candidate comparison and ablations (recall/MRR per set only)",
    )
    parser.add_argument(
        "--candidates",
        default="",
        help="comma-separated full-text candidate counts to compare on the same index, e.g. 60,120",
    )
    parser.add_argument(
        "--dense",
        choices=["none", "scripted", "local"],
        default="none",
        help="scripted: embed every chunk through the gateway with the scripted server's "
        "deterministic n-gram embeddings, and measure fused search; local: the bundled "
        "multilingual-e5-small (extra local-embedding), recall/MRR per set, full text alone and "
        "fused (slow: about 8 chunks/s per core, so use a --corpus subset)",
    )
    parser.add_argument(
        "--rewrite",
        default="",
        help="also measure search after a model rewrites each question (kb ask with a model): "
        "URL,MODEL of an OpenAI-compatible endpoint (API key in SHUZHI_BENCH_API_KEY), e.g. "
        "https://api.deepseek.com/v1,deepseek-chat; 'scripted' checks the plumbing only",
    )
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}; skipping")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="shuzhi-kb-bench-"))
    try:
        settings = Settings(data_dir=workdir, database_url=args.database_url, secret_key="bench")
        db = open_database(settings, migrate=True)
        service = KnowledgeService(db, settings, embedder=None)
        service.create("bench-laws", grade="public")

        started, cpu = time.perf_counter(), time.process_time()
        report = service.import_paths("bench-laws", [args.corpus])
        import_seconds = time.perf_counter() - started
        import_cpu_seconds = time.process_time() - cpu
        analyse_seconds = vacuum_analyse(db)
        again = time.perf_counter()
        service.import_paths("bench-laws", [args.corpus])
        reimport_seconds = time.perf_counter() - again

        paths = [Path(p.strip()) for p in args.questions.split(",") if p.strip()]
        sets = {path.name: load_questions(path) for path in paths}
        questions = next(iter(sets.values()))
        service.search("bench-laws", questions[0].q)  # load the catalogue once
        per_set = {name: quality(service, qs) for name, qs in sets.items()}
        latency: dict[str, object] = {}
        compared: dict[str, object] = {}
        variants: dict[str, object] = {}
        if not args.quality_only:
            latency = measure(service, questions, args.rounds)
            for count in [int(c) for c in args.candidates.split(",") if c.strip()]:
                with mock.patch.object(service_module, "CANDIDATES", count):
                    compared[str(count)] = {
                        name: _short(measure(service, qs, args.rounds if i == 0 else 1))
                        for i, (name, qs) in enumerate(sets.items())
                    }
            variants = {name: ablations(service, qs) for name, qs in sets.items()}
        fused: dict[str, object] | None = None
        if args.dense == "scripted":
            fused = dense_run(db, settings, questions, args.rounds)
        elif args.dense == "local":
            fused = local_dense_run(db, settings, sets)

        rewritten = rewrite_run(db, settings, sets, args.rewrite) if args.rewrite else None

        index_dir = workdir / "index"
        out = {
            "backend": service.backend.name,
            "files": report.seen,
            "documents_added": report.added,
            "failed_files": len(report.failed),
            "chunks": report.chunks,
            "import_seconds": round(import_seconds, 1),
            "import_cpu_seconds": round(import_cpu_seconds, 1),
            "reimport_unchanged_seconds": round(reimport_seconds, 1),
            "vacuum_analyse_seconds": analyse_seconds,
            "index_bytes": directory_size(index_dir) if index_dir.exists() else None,
            "sqlite_bytes": directory_size(workdir)
            - (directory_size(index_dir) if index_dir.exists() else 0),
            "candidates": service_module.CANDIDATES,
            "latency_questions": paths[0].name,
            **{k: v for k, v in latency.items() if k not in ("recall_at_5", "mrr", "misses")},
            "sets": per_set,
            "candidates_compared": compared,
            "ablations": variants,
            "dense": fused,
            "rewrite": rewritten,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        db.dispose()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
