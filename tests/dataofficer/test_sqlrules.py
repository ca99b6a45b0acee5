"""The vectorised SQL checks must agree with ``shuzhi.cn.ids``, value for value."""

from __future__ import annotations

import random

import duckdb
import pytest

from shuzhi.cn import ids
from shuzhi.dataofficer import sqlrules
from shuzhi.privacy import mask_for_display
from tests.dataofficer.helpers import broken, id_number

_CC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _sql_check(check: str, values: list[str]) -> list[bool]:
    con = duckdb.connect()
    con.execute("CREATE TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[v] for v in values])
    expr = sqlrules.validity_sql(check, "x")
    return [bool(r[0]) for r in con.execute(f"SELECT coalesce({expr}, false) FROM v").fetchall()]


def _id_numbers(rng: random.Random, n: int) -> list[str]:
    values = []
    for _ in range(n):
        birth = f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        valid = id_number(
            f"{rng.choice(['370102', '110101', '440305'])}{birth}{rng.randint(0, 999):03d}"
        )
        values += [
            valid,
            broken(valid),
            valid.lower(),
            valid[:17],
            valid[:6] + "19991332" + valid[14:],
        ]
    return values


def _credit_codes(rng: random.Random, n: int) -> list[str]:
    values = []
    for _ in range(n):
        # Real region codes: cn.ids also checks the region, the SQL check only the check digit.
        body = "91" + rng.choice(["370102", "110101", "440305", "370100"])
        body += "".join(rng.choice(_CC) for _ in range(9))
        valid = body + ids.credit_check_char(body)
        wrong = _CC[(_CC.index(valid[-1]) + 1) % 31]
        values += [valid, valid[:-1] + wrong, valid.replace("9", "I", 1)]
    return values


def test_id_number_check_agrees_with_cn_ids() -> None:
    values = [*_id_numbers(random.Random(1), 300), "", "abc", "37010219900307123 8"]
    sql = _sql_check("id_number", values)
    python = [ids.is_valid_id_number(v) and len(v.replace(" ", "")) == 18 for v in values]
    assert sql == python
    assert sum(sql) == 601  # 300 valid, their 300 lower-case forms, and the spaced one


def test_credit_code_check_agrees_with_cn_ids() -> None:
    values = _credit_codes(random.Random(2), 300)
    assert _sql_check("credit_code", values) == [ids.is_valid_credit_code(v) for v in values]


def test_luhn_agrees_with_cn_ids() -> None:
    rng = random.Random(3)
    values = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(16, 19))) for _ in range(2000)
    ]
    assert _sql_check("bank_card", values) == [ids.luhn_ok(v) for v in values]
    assert 100 < sum(ids.luhn_ok(v) for v in values) < 400


@pytest.mark.parametrize(
    "value", ["13812345678", "+8613812345678", "138 1234 5678", "12812345678", "1381234567", "abc"]
)
def test_mobile_agrees_with_cn_ids(value: str) -> None:
    assert _sql_check("mobile", [value]) == [ids.is_mobile(value)]


@pytest.mark.parametrize("value", ["鲁A12345", "鲁AD12345", "京B1234学", "鲁I12345", "A12345"])
def test_plate_agrees_with_cn_ids(value: str) -> None:
    assert _sql_check("plate", [value]) == [ids.is_plate(value)]


def test_masks_use_the_same_display_forms_as_privacy() -> None:
    valid = id_number("37010219900307123")
    text = f"我的电话13812345678，身份证{valid}，谢谢"
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {sqlrules.mask_sql('id_number', sqlrules.literal(valid))}, "
        f"{sqlrules.mask_sql('phone', sqlrules.literal('13812345678'))}, "
        f"{sqlrules.mask_text_sql(sqlrules.literal(text))}"
    ).fetchone()
    assert row is not None
    assert row[0] == mask_for_display(valid)
    assert row[1] == mask_for_display("13812345678")
    assert row[2] == mask_for_display(text)
    assert "13812345678" not in row[2] and valid not in row[2]
