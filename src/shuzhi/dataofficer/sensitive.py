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
    address_value,
    credit_code_valid,
    email_valid,
    health_value,
    id_number_like,
    id_number_valid,
    is_blank,
    luhn_valid,
    name_like,
    name_value,
    phone_valid,
    plate_valid,
    quote,
    social_security_value,
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
    FieldKind.NAME: (
        "姓名", "名字", "联系人", "户主", "法定代表人", "申请人", "负责人", "经办人", "监护人",
    ),
    FieldKind.PHONE: ("电话", "手机", "座机", "联系方式", "联系号码"),
    FieldKind.ADDRESS: ("地址", "住址", "居住地", "户籍地", "住所"),
    FieldKind.BANK_CARD: ("银行卡", "卡号", "银行账号", "银行账户", "账号"),
    FieldKind.CREDIT_CODE: ("统一社会信用代码", "信用代码"),
    FieldKind.PLATE: ("车牌", "号牌"),
    FieldKind.HEALTH: ("诊断", "疾病", "病史", "病情", "健康", "体检", "残疾", "传染病", "病案"),
    FieldKind.SOCIAL_SECURITY: (
        "社保", "社会保障", "参保", "医保", "养老保险", "公积金", "低保", "社保卡", "医保卡",
        "社会保障卡",
    ),
    FieldKind.EMAIL: ("邮箱", "email", "e-mail", "电子邮件"),
}  # fmt: skip
# A header word may be followed by 号码 / 号 / 码 and still name the column's content.
_HEADER_SUFFIXES = ("号码", "号", "码")

FORMAT_CHECKS = {
    FieldKind.ID_NUMBER: id_number_valid,
    FieldKind.CREDIT_CODE: credit_code_valid,
    FieldKind.BANK_CARD: luhn_valid,
    FieldKind.PHONE: phone_valid,
    FieldKind.PLATE: plate_valid,
    FieldKind.EMAIL: email_valid,
    FieldKind.NAME: name_like,
    FieldKind.ADDRESS: address_like,
}
"""How well values fit a kind; reported as the share behind a detection."""

VALUE_CHECKS = {
    FieldKind.CREDIT_CODE: credit_code_valid,
    FieldKind.BANK_CARD: luhn_valid,
    FieldKind.PHONE: phone_valid,
    FieldKind.PLATE: plate_valid,
    FieldKind.EMAIL: email_valid,
    FieldKind.NAME: name_value,
    FieldKind.ADDRESS: address_value,
    FieldKind.HEALTH: health_value,
    FieldKind.SOCIAL_SECURITY: social_security_value,
}
"""Checks narrow enough to recognise a kind from values when the header says nothing.

ID numbers are judged apart (``_id_share``): by their shape, provided enough of them also carry
a right check digit.
"""

SHAPE_ONLY = {FieldKind.NAME, FieldKind.ADDRESS, FieldKind.HEALTH, FieldKind.SOCIAL_SECURITY}
"""Kinds recognised by shape or wording, without a format: weaker evidence than a header."""

VALUE_SHARE = 0.6
HEADER_VALUE_SHARE = 0.3
# A name column lists many people; a column of a few repeated words (已办结, 男) is a category.
NAME_DISTINCT_SHARE = 0.5
_ID_LIKE = "id_like"
_DISTINCT = "distinct"

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
    """The kind a column's header names, or None."""
    match = _header_match(name)
    return match[0] if match else None


def _header_match(name: str) -> tuple[FieldKind, str] | None:
    # In a Chinese compound header the last noun says what the column holds: 联系人电话 is a
    # phone, 申请人身份证号 an ID number. So the word ending last wins, then the longest one.
    lowered = name.lower()
    best: tuple[FieldKind, str] | None = None
    best_key = (-1, -1)
    for kind, words in HEADER_WORDS.items():
        for word in words:
            start = lowered.rfind(word)
            if start < 0:
                continue
            end = start + len(word)
            end += next((len(s) for s in _HEADER_SUFFIXES if lowered.startswith(s, end)), 0)
            if (end, len(word)) > best_key:
                best, best_key = (kind, word), (end, len(word))
    return best


def detect_column(
    con: duckdb.DuckDBPyConnection, table: str, name: str, filled: int
) -> Detection | None:
    """What sensitive kind a column holds, judged on its header and its non-blank values.

    Values decide when they clearly show a kind; otherwise a header naming a kind decides even
    when the values fail their format or check digit, since a mistyped ID number is still a
    person's ID number. A column with neither passes through the free-text detector.
    """
    header = _header_match(name)
    counts = _value_counts(con, table, name, filled)
    by_values = _kind_from_values(counts, filled)
    if header is not None and by_values in SHAPE_ONLY:
        by_values = None  # a name-like shape does not overrule a header saying 住址
    if by_values is not None:
        word = header[1] if header and header[0] is by_values else None
        return _detection(by_values, counts, filled, word)
    if header is not None:
        return _detection(header[0], counts, filled, header[1])
    return _text_with_pii(con, table, name, filled)


def _value_counts(
    con: duckdb.DuckDBPyConnection, table: str, name: str, filled: int
) -> dict[str, int]:
    """How many non-blank values pass each check, in one query over ``table``."""
    if filled == 0:
        return {}
    c = quote(name)
    checks: dict[str, str] = {k.value: check(c) for k, check in FORMAT_CHECKS.items()}
    checks |= {f"value:{k.value}": check(c) for k, check in VALUE_CHECKS.items()}
    checks[_ID_LIKE] = f"({id_number_valid(c)} OR {id_number_like(c)})"
    parts = [f"count(*) FILTER (WHERE {sql})" for sql in checks.values()]
    parts.append(f"count(DISTINCT trim({c}))")
    row = con.execute(f"SELECT {', '.join(parts)} FROM {table} WHERE NOT {is_blank(c)}").fetchone()
    assert row is not None
    return dict(zip([*checks, _DISTINCT], (int(n) for n in row), strict=True))


def _kind_from_values(counts: dict[str, int], filled: int) -> FieldKind | None:
    if not filled:
        return None
    shares = {k: counts[f"value:{k.value}"] / filled for k in VALUE_CHECKS}
    shares[FieldKind.ID_NUMBER] = _id_share(counts, filled)
    if counts[_DISTINCT] / filled < NAME_DISTINCT_SHARE:
        shares.pop(FieldKind.NAME)
    best = max(shares, key=lambda k: shares[k])
    return best if shares[best] >= VALUE_SHARE else None


def _id_share(counts: dict[str, int], filled: int) -> float:
    # Case and serial numbers are often built from a region code and a date as well, so without
    # a header a column counts as ID numbers by shape only when many of them also check out.
    valid = counts[FieldKind.ID_NUMBER.value] / filled
    return counts[_ID_LIKE] / filled if valid >= HEADER_VALUE_SHARE else valid


def _detection(
    kind: FieldKind, counts: dict[str, int], filled: int, header_word: str | None
) -> Detection:
    reasons = []
    if header_word:
        reasons.append(f"列名含“{header_word}”，是{kind_label(kind)}的常用列名")
    share = _share_of(kind, counts, filled)
    if not filled:
        reasons.append("列中暂无非空值，按列名判定")
    elif kind is FieldKind.ID_NUMBER:
        reasons += _id_reasons(counts, filled)
    elif kind in FORMAT_CHECKS or share:
        reasons.append(f"抽样 {filled} 个值中 {share:.1%} 符合{kind_label(kind)}的特征")
    if header_word and filled and _fit_share(kind, counts, filled) < HEADER_VALUE_SHARE:
        reasons.append("多数值不符合该类信息的格式（可能录入有误），仍按列名保护，请数据官确认")
    return Detection(kind.value, round(share, 4), reasons)


def _share_of(kind: FieldKind, counts: dict[str, int], filled: int) -> float:
    if not filled:
        return 0.0
    if kind in FORMAT_CHECKS:
        return counts[kind.value] / filled
    return counts.get(f"value:{kind.value}", 0) / filled


def _fit_share(kind: FieldKind, counts: dict[str, int], filled: int) -> float:
    """The share of values shaped like ``kind``; 1.0 for kinds that have no format to fit."""
    if kind is FieldKind.ID_NUMBER:
        return counts[_ID_LIKE] / filled
    if kind in FORMAT_CHECKS:
        return max(counts[kind.value], counts.get(f"value:{kind.value}", 0)) / filled
    return 1.0


def _id_reasons(counts: dict[str, int], filled: int) -> list[str]:
    valid = counts[FieldKind.ID_NUMBER.value]
    reasons = [f"抽样 {filled} 个值中 {valid / filled:.1%} 通过身份证号校验"]
    near = counts[_ID_LIKE] - valid
    if near:
        reasons.append(
            f"另有 {near / filled:.1%} 的值形似身份证号（地区码、出生日期合理）但校验码不符，"
            "可能是录入错误，仍属个人身份信息，同样脱敏；错误由质量规则另行报告"
        )
    return reasons


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
