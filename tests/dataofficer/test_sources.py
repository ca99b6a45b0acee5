from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from sqlalchemy import create_engine, text

from shuzhi.dataofficer.sources import detect_encoding, load_database_table, load_file
from shuzhi.errors import InvalidInput, NotFound
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv


def _rows(parquet: Path) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM read_parquet('{parquet}')").fetchall()


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("gbk", "gb18030"), ("gb18030", "gb18030"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")],
)
def test_csv_in_every_encoding_departments_send(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, encoding)
    assert detect_encoding(path) == expected

    table = load_file(path, tmp_path / "people.parquet")

    assert table.columns == PEOPLE_HEADER
    assert table.rows == 4 and table.encoding == expected
    rows = _rows(table.parquet)
    assert rows[0][0] == "张三" and rows[0][3] == "山东省济南市历下区经十路1号"
    assert rows[1][1] == PEOPLE_ROWS[1][1]  # ID numbers stay text, X and leading zeros intact


def test_gbk_file_larger_than_one_chunk_is_transcoded_in_pieces(tmp_path: Path) -> None:
    rows = [[f"居民{i}", "", "", f"济南市第{i}街", "备注" * 20] for i in range(30_000)]
    path = write_csv(tmp_path / "big.csv", PEOPLE_HEADER, rows, "gbk")
    assert path.stat().st_size > 2 * (1 << 20)

    table = load_file(path, tmp_path / "big.parquet")

    assert table.rows == 30_000
    assert _rows(table.parquet)[-1][0] == "居民29999"
    assert not (tmp_path / "big.utf8.csv").exists()


def test_a_file_mixing_encodings_is_refused_with_the_position(tmp_path: Path) -> None:
    good = "姓名,地址\r\n" + "张三,济南\r\n" * 200_000
    path = tmp_path / "mixed.csv"
    path.write_bytes(good.encode("gbk") + "李四,青岛\r\n".encode() + b"\xff\xfe\r\n")

    with pytest.raises(InvalidInput) as caught:
        load_file(path, tmp_path / "mixed.parquet")

    # Past the 1 MB sample: found while transcoding, with the line of the first UTF-8 row.
    assert "混用" in caught.value.message and "第 200002 行" in caught.value.message

    broken = tmp_path / "broken.csv"
    broken.write_bytes(good.encode("gbk") + b"\xff\xfe\r\n")
    with pytest.raises(InvalidInput) as caught:
        load_file(broken, tmp_path / "broken.parquet")
    assert "gb18030" in caught.value.message and "第 200002 行" in caught.value.message


def _merged_workbook(path: Path) -> Path:
    """A title row, a two-level header with merged group cells, dates and trailing blank rows."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["2024 年低保对象名册"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "基本信息", None, None, "联系方式", None])
    ws.append([None, "姓名", "身份证号", "登记日期", "手机", "地址"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:D2")
    ws.merge_cells("E2:F2")
    for i, row in enumerate(PEOPLE_ROWS, start=1):
        ws.append([i, row[0], row[1], datetime(2024, 3, i, 9, 30), row[2] or None, row[3]])
    for _ in range(50):  # formatted but empty rows, as exported workbooks often carry
        ws.append([None] * 6)
    book.save(path)
    return path


def test_excel_with_title_row_and_merged_header_cells(tmp_path: Path) -> None:
    path = _merged_workbook(tmp_path / "roster.xlsx")

    table = load_file(path, tmp_path / "roster.parquet")

    assert table.columns == ["序号", "姓名", "身份证号", "登记日期", "手机", "地址"]
    assert table.column_groups == {
        "姓名": "基本信息",
        "身份证号": "基本信息",
        "登记日期": "基本信息",
        "手机": "联系方式",
        "地址": "联系方式",
    }
    assert table.rows == 4
    first = _rows(table.parquet)[0]
    assert first[0] == "1" and first[3] == "2024-03-01 09:30:00"
    assert first[2] == PEOPLE_ROWS[0][1]


def test_excel_with_one_header_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(PEOPLE_HEADER)
    for row in PEOPLE_ROWS:
        ws.append(row)
    book.save(tmp_path / "flat.xlsx")

    table = load_file(tmp_path / "flat.xlsx", tmp_path / "flat.parquet")

    assert table.columns == PEOPLE_HEADER and table.rows == 4


def test_unsupported_files_are_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InvalidInput, match="另存为"):
        load_file(tmp_path / "old.xls", tmp_path / "x.parquet")
    with pytest.raises(NotFound):
        load_file(tmp_path / "missing.csv", tmp_path / "x.parquet")


def test_sqlite_table_is_read_read_only(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE people (name TEXT, id_number TEXT, age INTEGER)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)", [(r[0], r[1], 40) for r in PEOPLE_ROWS]
        )
    before = source.read_bytes()

    table = load_database_table(f"sqlite:///{source}", "people", tmp_path / "p.parquet")

    assert table.columns == ["name", "id_number", "age"] and table.rows == 4
    assert _rows(table.parquet)[0] == ("张三", PEOPLE_ROWS[0][1], "40")
    assert source.read_bytes() == before
    with pytest.raises(NotFound, match="people"):
        load_database_table(f"sqlite:///{source}", "nobody", tmp_path / "q.parquet")


def test_database_table_on_each_backend(db_url: str, tmp_path: Path) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS src_people"))
        conn.execute(text("CREATE TABLE src_people (name VARCHAR(20), phone VARCHAR(20))"))
        conn.execute(text("INSERT INTO src_people VALUES ('张三', '13812345678'), ('李四', NULL)"))
    try:
        table = load_database_table(db_url, "src_people", tmp_path / "db.parquet")
        assert table.rows == 2
        assert _rows(table.parquet) == [("张三", "13812345678"), ("李四", None)]
    finally:  # the shared test database must keep matching the models
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE src_people"))
        engine.dispose()
