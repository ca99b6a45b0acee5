"""Benchmark the knowledge base over the shared law corpus.

    taskset -c 0 .venv/bin/python bench/knowledge_corpus.py            # SQLite + tantivy
    .venv/bin/python bench/knowledge_corpus.py --database-url postgresql+psycopg://...  # PostgreSQL

Reports import time, index size, query latency (median / p99, search with citations, warm) and
recall@5 / MRR on bench/knowledge_questions.yaml. Exits quietly when the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from shuzhi.config import Settings
from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge.backends import Hit
from shuzhi.knowledge.evaluation import EvalQuestion, EvalReport, load_questions, score
from shuzhi.storage.setup import open_database

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "laws"
QUESTIONS = ROOT / "bench" / "knowledge_questions.yaml"


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ablations(service: KnowledgeService, questions: list[EvalQuestion]) -> dict[str, object]:
    """Recall/MRR with parts of the ranking switched off, on the same index."""
    from unittest import mock

    from shuzhi.knowledge import ranking
    from shuzhi.knowledge import service as service_module

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

    out: dict[str, object] = {}
    with mock.patch.object(ranking, "expand_question", lambda _text: []):
        out["without_thesaurus"] = run()
    with mock.patch.object(service_module, "rerank", plain):
        out["without_reranking"] = run()
    with (
        mock.patch.object(ranking, "expand_question", lambda _text: []),
        mock.patch.object(service_module, "rerank", plain),
    ):
        out["bm25_only"] = run()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=20, help="passes over the questions")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}; skipping")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="shuzhi-kb-bench-"))
    try:
        settings = Settings(data_dir=workdir, database_url=args.database_url, secret_key="bench")
        db = open_database(settings, migrate=True)
        service = KnowledgeService(db, settings)
        service.create("bench-laws", grade="public")

        started, cpu = time.perf_counter(), time.process_time()
        report = service.import_paths("bench-laws", [args.corpus])
        import_seconds = time.perf_counter() - started
        import_cpu_seconds = time.process_time() - cpu
        again = time.perf_counter()
        service.import_paths("bench-laws", [args.corpus])
        reimport_seconds = time.perf_counter() - again

        questions = load_questions(QUESTIONS)
        service.search("bench-laws", questions[0].q)  # load the catalogue once
        results = [score(q, service.search("bench-laws", q.q, k=5)) for q in questions]
        evaluation = EvalReport(5, results)

        timings, cpu_timings = [], []
        for _ in range(args.rounds):
            for q in questions:
                t, c = time.perf_counter(), time.process_time()
                service.search("bench-laws", q.q, k=5)
                timings.append((time.perf_counter() - t) * 1000)
                cpu_timings.append((time.process_time() - c) * 1000)
        timings.sort()
        cpu_timings.sort()
        variants = ablations(service, questions)

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
            "index_bytes": directory_size(index_dir) if index_dir.exists() else None,
            "sqlite_bytes": directory_size(workdir)
            - (directory_size(index_dir) if index_dir.exists() else 0),
            "queries": len(timings),
            "latency_ms_median": round(statistics.median(timings), 2),
            "latency_ms_p99": round(timings[int(len(timings) * 0.99) - 1], 2),
            "cpu_ms_median": round(statistics.median(cpu_timings), 2),
            "cpu_ms_p99": round(cpu_timings[int(len(cpu_timings) * 0.99) - 1], 2),
            "questions": len(questions),
            "recall_at_5": round(evaluation.recall, 3),
            "mrr": round(evaluation.mrr, 3),
            "ablations": variants,
            "misses": [
                {"q": m.question.q, "want": f"{m.question.doc} {m.question.article}", "got": m.got}
                for m in evaluation.misses
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        db.dispose()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
