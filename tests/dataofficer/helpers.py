"""Small builders shared by the data officer tests."""

from __future__ import annotations

from pathlib import Path

W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(first17: str) -> str:
    """A valid ID number for 17 given digits (computed here, independently of the product)."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W, strict=True)) % 11]


def broken(valid: str) -> str:
    """The same number with a wrong check character."""
    return valid[:-1] + ("0" if valid[-1] != "0" else "1")


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


PEOPLE_HEADER = ["姓名", "身份证号", "联系电话", "家庭住址", "备注"]
PEOPLE_ROWS = [
    ["张三", id_number("37010219900307123"), "13812345678", "山东省济南市历下区经十路1号", "无"],
    ["李四", id_number("37010319851111456"), "13912345678", "山东省济南市市中区纬二路5号", ""],
    ["王五", id_number("37010419770101789"), "", "山东省济南市槐荫区经七路9号", "低保户"],
    [
        "赵六",
        broken(id_number("37010419770101789")),
        "1391234",
        "山东省济南市天桥区北园大街3号",
        "电话坏了",
    ],
]


_CC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(first17: str) -> str:
    """A valid unified social credit code for 17 given characters (GB 32100-2015, computed here)."""
    total = sum(_CC.index(c) * w for c, w in zip(first17, _CC_W, strict=True))
    return first17 + _CC[(31 - total % 31) % 31]


def luhn_card(body: str) -> str:
    """``body`` with the digit appended that makes it pass the Luhn check."""
    for last in "0123456789":
        digits = [int(c) for c in reversed(body + last)]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)
        )
        if total % 10 == 0:
            return body + last
    raise AssertionError("unreachable: one of ten digits always completes a Luhn number")
