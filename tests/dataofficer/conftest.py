"""Fixtures for the data officer: files written here, never copied from real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.dataofficer.sources import load_file
from shuzhi.dataofficer.synthetic import Defects, write_population_csv

POPULATION_ROWS = 100_000


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Defects]:
    """The synthetic 100,000-row register: its CSV, its Parquet copy and its defect counts."""
    folder = tmp_path_factory.mktemp("population")
    csv_path = folder / "population.csv"
    defects = write_population_csv(csv_path, POPULATION_ROWS)
    loaded = load_file(csv_path, folder / "population.parquet")
    return csv_path, loaded.parquet, defects
