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
from shuzhi.knowledge.evaluation import EvalReport, load_questions, score
from shuzhi.storage.setup import open_database

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "laws"
QUESTIONS = ROOT / "bench" / "knowledge_questions.yaml"


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


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

        started = time.perf_counter()
        report = service.import_paths("bench-laws", [args.corpus])
        import_seconds = time.perf_counter() - started
        again = time.perf_counter()
        service.import_paths("bench-laws", [args.corpus])
        reimport_seconds = time.perf_counter() - again

        questions = load_questions(QUESTIONS)
        service.search("bench-laws", questions[0].q)  # load the catalogue once
        results = [score(q, service.search("bench-laws", q.q, k=5)) for q in questions]
        evaluation = EvalReport(5, results)

        timings = []
        for _ in range(args.rounds):
            for q in questions:
                t = time.perf_counter()
                service.search("bench-laws", q.q, k=5)
                timings.append((time.perf_counter() - t) * 1000)
        timings.sort()

        index_dir = workdir / "index"
        out = {
            "backend": service.backend.name,
            "files": report.seen,
            "documents_added": report.added,
            "failed_files": len(report.failed),
            "chunks": report.chunks,
            "import_seconds": round(import_seconds, 1),
            "reimport_unchanged_seconds": round(reimport_seconds, 1),
            "index_bytes": directory_size(index_dir) if index_dir.exists() else None,
            "sqlite_bytes": directory_size(workdir)
            - (directory_size(index_dir) if index_dir.exists() else 0),
            "queries": len(timings),
            "latency_ms_median": round(statistics.median(timings), 2),
            "latency_ms_p99": round(timings[int(len(timings) * 0.99) - 1], 2),
            "questions": len(questions),
            "recall_at_5": round(evaluation.recall, 3),
            "mrr": round(evaluation.mrr, 3),
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
