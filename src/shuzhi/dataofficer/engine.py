"""DuckDB connections over registered datasets: one view per dataset, read from its Parquet file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

from shuzhi.dataofficer.sqlrules import literal, quote

ROW_NUMBER = "file_row_number"
"""The 0-based position of a row in its Parquet file; reports show it 1-based as 行号."""


def connect(
    tables: Mapping[str, Path], *, threads: int | None = None, row_numbers: bool = False
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view named after each dataset."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for name, path in tables.items():
        option = ", file_row_number = true" if row_numbers else ""
        con.execute(
            f"CREATE VIEW {quote(name)} AS SELECT * FROM read_parquet({literal(str(path))}{option})"
        )
    return con


def lock_down(con: duckdb.DuckDBPyConnection, files: Iterable[Path]) -> None:
    """Forbid the connection every file but ``files`` and any further setting change.

    This is the second wall behind the SQL check in ``guard``: even a query that slipped past it
    could not read ``/etc/passwd``, another department's dataset or load an extension. Only the
    files behind the asker's own views stay readable (the views need them).
    """
    paths = ", ".join(literal(str(Path(f).resolve())) for f in files)
    con.execute(f"SET allowed_paths = [{paths}]")
    con.execute("SET allowed_directories = []")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
