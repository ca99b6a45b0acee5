"""Sensitive-field detection from headers and values, and grade proposals with their reasons.

Grades follow the Data Security Law, Art. 21 (data is classified and graded; access follows the
grade) and GB/T 43697-2024 (一般数据 / 重要数据 / 核心数据). The AI only proposes: a data officer
confirms every grade (``service.confirm_grades``). Core data is designated by the state's data
security coordination mechanism, so it is never proposed here; an officer may set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import duckdb

from shuzhi.dataofficer.sqlrules import (
    FieldKind,
    address_like,
    credit_code_valid,
    email_valid,
    id_number_valid,
    is_blank,
    luhn_valid,
    name_like,
    phone_valid,
    plate_valid,
    quote,
)
from shuzhi.privacy import count_pii


class Grade(StrEnum):
    GENERAL = "general"
    IMPORTANT = "important"
    CORE = "core"

    @property
    def label_zh(self) -> str:
        return {"general": "一般数据", "important": "重要数据", "core": "核心数据"}[self.value]

    @property
    def rank(self) -> int:
        return list(Grade).index(self)


HEADER_WORDS: dict[FieldKind, tuple[str, ...]] = {
    FieldKind.ID_NUMBER: ("身份证", "证件号", "身份号", "公民身份号码"),
    FieldKind.NAME: ("姓名", "名字", "联系人", "户主", "法定代表人", "申请人"),
    FieldKind.PHONE: ("电话", "手机", "联系方式", "联系号码"),
    FieldKind.ADDRESS: ("地址", "住址", "居住地", "户籍地", "住所"),
    FieldKind.BANK_CARD: ("银行卡", "卡号", "银行账号", "银行账户", "账号"),
    FieldKind.CREDIT_CODE: ("统一社会信用代码", "信用代码"),
    FieldKind.PLATE: ("车牌", "号牌"),
    FieldKind.HEALTH: ("诊断", "疾病", "病史", "病情", "健康", "体检", "残疾", "传染病", "病案"),
    FieldKind.SOCIAL_SECURITY: ("社保", "社会保障", "参保", "医保", "养老保险", "公积金"),
    FieldKind.EMAIL: ("邮箱", "email", "e-mail", "电子邮件"),
}

VALUE_CHECKS = {
    FieldKind.ID_NUMBER: id_number_valid,
    FieldKind.CREDIT_CODE: credit_code_valid,
    FieldKind.BANK_CARD: luhn_valid,
    FieldKind.PHONE: phone_valid,
    FieldKind.PLATE: plate_valid,
    FieldKind.EMAIL: email_valid,
    FieldKind.NAME: name_like,
    FieldKind.ADDRESS: address_like,
}
"""Kinds recognisable from values alone; name and address shapes also need a matching header."""

NEEDS_HEADER = {FieldKind.NAME, FieldKind.ADDRESS, FieldKind.HEALTH, FieldKind.SOCIAL_SECURITY}
VALUE_SHARE = 0.6
HEADER_VALUE_SHARE = 0.3

# PIPL Art. 28 lists financial accounts and medical health as sensitive personal information;
# GB/T 35273-2020 Annex B adds identity card numbers.
SENSITIVE = {FieldKind.ID_NUMBER, FieldKind.BANK_CARD, FieldKind.HEALTH, FieldKind.SOCIAL_SECURITY}


@dataclass
class Detection:
    kind: str
    share: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GradeProposal:
    column: str
    grade: Grade
    kind: str | None
    reasons: list[str]


def header_kind(name: str) -> FieldKind | None:
    lowered = name.lower()
    for kind, words in HEADER_WORDS.items():
        if any(w in lowered for w in words):
            return kind
    return None


def detect_column(
    con: duckdb.DuckDBPyConnection, table: str, name: str, filled: int
) -> Detection | None:
    """What sensitive kind a column holds, judged on the non-blank values of ``table``."""
    by_header = header_kind(name)
    shares = _value_shares(con, table, name, filled)
    best = max(shares, key=lambda k: shares[k]) if shares else None
    if best and best not in NEEDS_HEADER and shares[best] >= VALUE_SHARE:
        return _detection(best, shares[best], by_header == best, filled, name)
    if by_header and (
        by_header not in VALUE_CHECKS or shares.get(by_header, 0) >= HEADER_VALUE_SHARE
    ):
        return _detection(by_header, shares.get(by_header, 0.0), True, filled, name)
    return _text_with_pii(con, table, name, filled)


def _value_shares(
    con: duckdb.DuckDBPyConnection, table: str, name: str, filled: int
) -> dict[FieldKind, float]:
    if filled == 0:
        return {}
    c = quote(name)
    parts = ", ".join(f"count(*) FILTER (WHERE {check(c)})" for check in VALUE_CHECKS.values())
    row = con.execute(f"SELECT {parts} FROM {table} WHERE NOT {is_blank(c)}").fetchone()
    assert row is not None
    return {k: n / filled for k, n in zip(VALUE_CHECKS, row, strict=True)}


def _detection(kind: FieldKind, share: float, header: bool, filled: int, column: str) -> Detection:
    reasons = []
    if header:
        reasons.append(f"列名含“{_matched_word(kind, column)}”，是{kind_label(kind)}的常用列名")
    if kind in VALUE_CHECKS and filled:
        reasons.append(f"抽样 {filled} 个值中 {share:.1%} 符合{kind_label(kind)}格式")
    return Detection(kind.value, round(share, 4), reasons)


def _matched_word(kind: FieldKind, column: str) -> str:
    lowered = column.lower()
    return next((w for w in HEADER_WORDS[kind] if w in lowered), HEADER_WORDS[kind][0])


def _text_with_pii(
    con: duckdb.DuckDBPyConnection, table: str, name: str, filled: int
) -> Detection | None:
    """Free text carrying phone numbers, ID numbers or cards, found by the platform's detector."""
    if filled == 0:
        return None
    c = quote(name)
    texts = [
        str(r[0])
        for r in con.execute(
            f"SELECT {c} FROM {table} WHERE NOT {is_blank(c)} AND length({c}) >= 15"
        ).fetchall()
    ]
    hits = sum(1 for t in texts if any(count_pii(t).values()))
    if not hits:
        return None
    return Detection(
        FieldKind.TEXT_WITH_PII.value,
        round(hits / filled, 4),
        [f"抽样 {filled} 条文本中 {hits} 条夹带电话、身份证号等个人信息"],
    )


KIND_LABELS = {
    FieldKind.ID_NUMBER: "身份证号",
    FieldKind.NAME: "姓名",
    FieldKind.PHONE: "电话号码",
    FieldKind.ADDRESS: "地址",
    FieldKind.BANK_CARD: "银行卡号",
    FieldKind.CREDIT_CODE: "统一社会信用代码",
    FieldKind.PLATE: "车牌号",
    FieldKind.HEALTH: "健康医疗信息",
    FieldKind.SOCIAL_SECURITY: "社会保障信息",
    FieldKind.EMAIL: "电子邮箱",
    FieldKind.TEXT_WITH_PII: "夹带个人信息的文本",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS[FieldKind(kind)]


def propose_grade(column: str, kind: str | None) -> GradeProposal:
    """A grade for one column with the reasons a data officer needs to confirm or change it."""
    if kind is None:
        return GradeProposal(column, Grade.GENERAL, None, ["未发现个人信息或敏感信息"])
    pii = FieldKind(kind)
    if pii is FieldKind.CREDIT_CODE:
        reason = "统一社会信用代码是依法公示的主体标识，不属于个人信息"
        return GradeProposal(column, Grade.GENERAL, kind, [reason])
    if pii in SENSITIVE:
        reason = (
            f"{kind_label(kind)}属于敏感个人信息（个人信息保护法第二十八条），"
            "泄露可能危害人身、财产安全"
        )
    else:
        reason = f"{kind_label(kind)}属于个人信息（个人信息保护法第四条），应限制访问并脱敏展示"
    rule = "按数据安全法第二十一条分级保护：建议定为重要数据，低于该级别的用户只能看到脱敏值"
    return GradeProposal(column, Grade.IMPORTANT, kind, [reason, rule])
