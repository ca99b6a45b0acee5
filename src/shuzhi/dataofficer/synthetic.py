"""A synthetic population register with defects at known, exact rates.

Used by the tests (100,000 rows) and the benchmark (about 1 GB). Every identity number is made
up: birth dates and sequence numbers come from the row number, so real people are never hit by
chance except through the arithmetic of a valid check digit. Defects are placed by row number:

- row ``i`` with ``i % 50 == 7``: the ID number's check character is wrong (2 %);
- row ``i`` with ``i % 100 == 13``: repeats the ID number of row ``i - 1`` (1 %);
- row ``i`` with ``i % 20 == 3``: the mobile number is missing (5 %);
- row ``i`` with ``i % 200 == 99``: the mobile number has 10 digits (0.5 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from shuzhi.dataofficer.sqlrules import literal

COLUMNS = ("身份证号", "姓名", "性别", "出生日期", "手机号", "住址", "登记日期")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = ("370102", "370103", "370104", "370105", "370112", "370113", "110101", "310104")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
_STREETS = ("经十路", "解放路", "泉城路", "历山路", "舜耕路", "二环东路", "花园路", "山大路")


@dataclass(frozen=True)
class Defects:
    """How many rows of an ``n``-row register carry each defect."""

    rows: int

    def _count(self, modulus: int, residue: int) -> int:
        return sum(1 for i in range(residue, self.rows, modulus))

    @property
    def bad_check_digit(self) -> int:
        return self._count(50, 7)

    @property
    def duplicate_id(self) -> int:
        return self._count(100, 13)

    @property
    def missing_phone(self) -> int:
        return self._count(20, 3)

    @property
    def bad_phone(self) -> int:
        return self._count(200, 99)


def _id_sql() -> str:
    """A valid 18-character ID number for row ``i`` (unique for i below 18 million)."""
    regions = "[" + ", ".join(literal(r) for r in _REGIONS) + "]"
    base = (
        f"({regions})[(i // 18000) % {len(_REGIONS)} + 1] "
        "|| strftime(DATE '1940-01-01' + CAST(i % 18000 AS INTEGER), '%Y%m%d') "
        "|| lpad(CAST((i // 18000) // 8 % 1000 AS VARCHAR), 3, '0')"
    )
    return base


def _check_sql(base: str) -> str:
    total = " + ".join(
        f"(ascii(substr({base}, {k + 1}, 1)) - 48) * {w}" for k, w in enumerate(_WEIGHTS)
    )
    return f"substr('10X98765432', (({total}) % 11) + 1, 1)"


def _query(rows: int) -> str:
    pick = "substr({s}, CAST(({e}) % length({s}) AS INTEGER) + 1, 1)"
    surname = pick.format(s=literal(_SURNAMES), e="i * 7")
    given = (
        pick.format(s=literal(_GIVEN), e="i * 13")
        + " || "
        + pick.format(s=literal(_GIVEN), e="i // 3")
    )
    street = f"({'[' + ', '.join(literal(s) for s in _STREETS) + ']'})[i % {len(_STREETS)} + 1]"
    wrong = "CASE WHEN chk = '0' THEN '1' ELSE '0' END"
    return f"""
    WITH base AS (
        SELECT i, b, {_check_sql("b")} AS chk
        FROM (SELECT i, {_id_sql()} AS b FROM range({rows}) r(i))
    ), ids AS (
        SELECT i, b || CASE WHEN i % 50 = 7 THEN {wrong} ELSE chk END AS id, b FROM base
    )
    SELECT
        CASE WHEN i % 100 = 13 THEN lag(id) OVER (ORDER BY i) ELSE id END AS "身份证号",
        {surname} || {given} AS "姓名",
        CASE WHEN i % 2 = 0 THEN '男' ELSE '女' END AS "性别",
        strftime(strptime(substr(b, 7, 8), '%Y%m%d'), '%Y-%m-%d') AS "出生日期",
        CASE WHEN i % 20 = 3 THEN NULL
             WHEN i % 200 = 99 THEN '13' || lpad(CAST(i % 100000000 AS VARCHAR), 8, '0')
             ELSE '1' || (['3', '5', '7', '8', '9'])[i % 5 + 1]
                  || lpad(CAST((i * 7919) % 1000000000 AS VARCHAR), 9, '0') END AS "手机号",
        '山东省济南市' || {street} || CAST(i % 300 + 1 AS VARCHAR) || '号' AS "住址",
        strftime(DATE '2024-01-01' + CAST(i % 700 AS INTEGER), '%Y-%m-%d') AS "登记日期"
    FROM ids ORDER BY i
    """


def write_population_csv(path: Path, rows: int) -> Defects:
    """Write the register as UTF-8 CSV and return the defect counts it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({_query(rows)}) TO {literal(str(path))} (HEADER, DELIMITER ',')")
    finally:
        con.close()
    return Defects(rows)
