"""Costs of the platform's per-request and per-event work, as medians over ``--repeat`` runs.

- audit append: one hash-chained record per event, committed in batches of 100 (records/s);
- audit verify: walking the whole chain (records/s), what ``shuzhi audit verify`` does;
- permission check: ``Principal.can`` for a user holding three department roles (µs);
- API-key authentication: SHA-256 lookup of a key (ms, one query);
- password check: one Argon2id verification at the library's defaults (ms).

Reports wall clock and process CPU time (the CPU figure is what to compare on a shared machine)::

    .venv/bin/python bench/platform_audit.py --records 20000 --repeat 5
    .venv/bin/python bench/platform_audit.py --url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shuzhi.platform.audit import audit, verify_chain
from shuzhi.platform.identity import (
    Principal,
    authenticate_api_key,
    create_api_key,
    hash_password,
    verify_password,
)
from shuzhi.storage.db import Database
from shuzhi.storage.migrate import upgrade


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def median_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float]:
    runs = [timed(fn) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def append_records(db: Database, n: int) -> None:
    for start in range(0, n, 100):
        with db.session() as session:
            for i in range(start, min(n, start + 100)):
                audit(session, "bench.event", actor="bench", target=f"t{i}", n=i)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db)
        print(f"database: {db.dialect}, records: {args.records}, repeat: {args.repeat}")

        wall, cpu = timed(lambda: append_records(db, args.records))
        print(f"audit append:  {args.records / wall:9.0f} records/s wall, "
              f"{args.records / cpu:9.0f} records/s CPU")  # fmt: skip

        def verify() -> None:
            with db.session() as session:
                assert verify_chain(session).ok

        wall, cpu = median_of(args.repeat, verify)
        print(f"audit verify:  {args.records / wall:9.0f} records/s wall, "
              f"{args.records / cpu:9.0f} records/s CPU")  # fmt: skip

        principal = Principal("u", 1, roles=frozenset({("reviewer", 3), ("viewer", 4),
                                                        ("operator", 3)}))  # fmt: skip
        loops = 20000
        wall, cpu = median_of(args.repeat, lambda: [principal.can("review.decide", 3)
                                                    for _ in range(loops)])  # fmt: skip
        print(
            f"permission check: {wall / loops * 1e6:6.2f} µs wall, {cpu / loops * 1e6:6.2f} µs CPU"
        )

        with db.session() as session:
            _, plain = create_api_key(session, "bench", None)

        def authenticate() -> None:
            with db.session() as session:
                authenticate_api_key(session, plain)

        wall, cpu = median_of(max(args.repeat, 50), authenticate)
        print(f"API key auth:  {wall * 1000:6.2f} ms wall, {cpu * 1000:6.2f} ms CPU")

        hashed = hash_password("correct-horse-9")
        wall, cpu = median_of(args.repeat, lambda: verify_password(hashed, "correct-horse-9"))
        print(f"password check: {wall * 1000:6.1f} ms wall, {cpu * 1000:6.1f} ms CPU")
        db.dispose()


if __name__ == "__main__":
    main()
