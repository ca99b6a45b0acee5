"""Cells of exported spreadsheets and CSV files that a spreadsheet program will not execute.

A citizen's message or a record's name that begins with ``=`` (or ``+ - @``, a tab or a carriage
return, which spreadsheet programs also read as the start of a formula) would run as a formula
when a civil servant opens the export: ``=HYPERLINK(...)`` leaks data, ``=cmd|...`` runs a
program (CSV/formula injection). Workbooks keep such text as a text cell, unchanged; CSV files,
which have no cell types, get a leading apostrophe, which spreadsheet programs read as "text".
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV file: text that a spreadsheet would run as a formula gets ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def sheet_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """``value`` for a write-only worksheet row: text starting with ``=`` stays text."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def sheet_row(sheet: WriteOnlyWorksheet, values: list[Any]) -> list[Any]:
    return [sheet_cell(sheet, v) for v in values]
