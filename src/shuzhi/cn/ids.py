"""Chinese identifiers: ID numbers, unified social credit codes, bank cards, phones, plates.

Each check follows the national standard that defines the identifier, so every part of shuzhi
(masking, skills, scenario rules, the data officer) validates them the same way:

- resident ID numbers: GB 11643-1999 (ISO 7064 MOD 11-2 check digit);
- unified social credit codes: GB 32100-2015 (MOD 31 check character);
- bank card numbers: the Luhn check (ISO/IEC 7812-1).

Parsers never raise on bad input: they return the problems in Chinese, for a clerk to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from shuzhi.cn.regions import is_known_province, region_name

__all__ = [
    "CreditCodeInfo",
    "IdNumberInfo",
    "id_check_digit",
    "is_mobile",
    "is_plate",
    "is_valid_credit_code",
    "is_valid_id_number",
    "luhn_ok",
    "parse_credit_code",
    "parse_id_number",
]

# GB 11643-1999: weight of position i is 2^(17-i) mod 11; the remainder indexes this string.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100-2015 alphabet: digits and capitals without I, O, Z, S, V; weights are 3^i mod 31.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Bodies registered at central level carry 100000 instead of a local division code.
_CENTRAL_REGION = "100000"
_CREDIT_RE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")

# GB 32100-2015 table 1: registration authority, then the organisation types it registers.
_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {
            "1": "外国旅游部门常驻代表机构",
            "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
            "9": "其他",
        },
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {"1": "其他"}),
}

_MOBILE_RE = re.compile(r"(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}")

# GA 36-2018 plates: province abbreviation, issuing-authority letter, then five characters
# (six for new-energy vehicles: D/F first for small, last for large vehicles).
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_PATTERN = (
    f"[{PLATE_PROVINCES}][A-HJ-NP-Z][·• ]?"
    r"(?:[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]|[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳])"
)
_PLATE_RE = re.compile(PLATE_PATTERN)


@dataclass(frozen=True)
class IdNumberInfo:
    """What a resident ID number says about its holder, and what is wrong with it."""

    number: str
    valid: bool
    problems: list[str] = field(default_factory=list)
    region_code: str | None = None
    region_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None


@dataclass(frozen=True)
class CreditCodeInfo:
    """The parts of a unified social credit code (GB 32100-2015)."""

    code: str
    valid: bool
    problems: list[str] = field(default_factory=list)
    registration_authority: str | None = None
    org_type: str | None = None
    region_code: str | None = None


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of an ID number."""
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def parse_id_number(s: str, *, today: date | None = None) -> IdNumberInfo:
    """Parse an 18-digit (or legacy 15-digit) resident ID number; never raises."""
    number = re.sub(r"[\s-]", "", s or "").upper()
    if re.fullmatch(r"\d{17}[\dX]", number):
        return _parse_id18(number, today or date.today())
    if re.fullmatch(r"\d{15}", number):
        return _parse_id15(number, today or date.today())
    problem = f"长度或字符不对：身份证号应为18位（末位可为X）或旧版15位数字，实际为{len(number)}位"
    return IdNumberInfo(number=number, valid=False, problems=[problem])


def is_valid_id_number(s: str) -> bool:
    """True for a well-formed ID number with a valid check digit, birth date and province."""
    return parse_id_number(s).valid


def _parse_id18(number: str, today: date) -> IdNumberInfo:
    problems: list[str] = []
    expected = id_check_digit(number[:17])
    if number[17] != expected:
        problems.append(f"校验码错误：第18位应为{expected}，实际为{number[17]}")

    birth = _birth_date(number[6:14], today, problems)
    return _id_info(number, problems, birth, sex_digit=number[16])


def _parse_id15(number: str, today: date) -> IdNumberInfo:
    # Legacy numbers (before GB 11643-1999) carry a two-digit year of the 1900s and no check digit.
    problems: list[str] = []
    birth = _birth_date("19" + number[6:12], today, problems)
    return _id_info(number, problems, birth, sex_digit=number[14])


def _id_info(number: str, problems: list[str], birth: date | None, sex_digit: str) -> IdNumberInfo:
    region = number[:6]
    name = region_name(region)
    if name is None:
        problems.append(f"地区代码未知：前两位{region[:2]}不是省级行政区划代码")
    return IdNumberInfo(
        number=number,
        valid=not problems,
        problems=problems,
        region_code=region,
        region_name=name,
        birth_date=birth,
        sex="男" if int(sex_digit) % 2 else "女",
    )


def _birth_date(yyyymmdd: str, today: date, problems: list[str]) -> date | None:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        problems.append(f"出生日期不存在：{yyyymmdd[:4]}年{yyyymmdd[4:6]}月{yyyymmdd[6:8]}日")
        return None
    if birth > today:
        problems.append(f"出生日期在未来：{birth.isoformat()}")
        return None
    if birth.year < 1850:
        problems.append(f"出生日期不合理：{birth.isoformat()}")
        return None
    return birth


def credit_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(
        _CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(s: str) -> CreditCodeInfo:
    """Parse a unified social credit code; never raises."""
    code = re.sub(r"\s", "", s or "").upper()
    if not _CREDIT_RE.fullmatch(code):
        problem = (
            "格式不对：统一社会信用代码应为18位，由数字和除I、O、Z、S、V以外的大写字母组成，"
            f"第3至8位为行政区划代码；实际为“{code}”（{len(code)}位）"
        )
        return CreditCodeInfo(code=code, valid=False, problems=[problem])

    problems: list[str] = []
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        problems.append(f"校验码错误：第18位应为{expected}，实际为{code[17]}")
    authority, org_type = _authority(code, problems)
    if code[2:8] != _CENTRAL_REGION and not is_known_province(code[2:8]):
        problems.append(f"行政区划代码未知：{code[2:8]}")
    return CreditCodeInfo(
        code=code,
        valid=not problems,
        problems=problems,
        registration_authority=authority,
        org_type=org_type,
        region_code=code[2:8],
    )


def is_valid_credit_code(s: str) -> bool:
    """True for a unified social credit code whose check character is right."""
    return parse_credit_code(s).valid


def _authority(code: str, problems: list[str]) -> tuple[str | None, str | None]:
    entry = _AUTHORITIES.get(code[0])
    if entry is None:
        problems.append(f"登记管理部门代码未知：{code[0]}")
        return None, None
    authority, types = entry
    org_type = types.get(code[1])
    if org_type is None:
        problems.append(f"机构类别代码未知：登记管理部门“{authority}”下没有类别{code[1]}")
    return authority, org_type


def luhn_ok(digits: str) -> bool:
    """The Luhn check used by bank card numbers (ISO/IEC 7812-1); False for non-digits."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def is_mobile(s: str) -> bool:
    """A mainland mobile number, optionally with +86/0086 and space or hyphen separators."""
    return _MOBILE_RE.fullmatch((s or "").strip()) is not None


def is_plate(s: str) -> bool:
    """A mainland vehicle plate such as 鲁A12345 or the new-energy 鲁AD12345."""
    return _PLATE_RE.fullmatch((s or "").strip().upper()) is not None
