"""Chinese identifier checks and masks written as DuckDB SQL, so they run vectorised.

``shuzhi.cn.ids`` holds the same rules for one value at a time; these expressions exist because
checking a 10-million-row column one Python call per value is a hundred times slower. The tests
check that both agree on the same values.

Every function takes a SQL expression (usually a quoted column) and returns a SQL expression.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from shuzhi.cn.regions import region_table

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB 32100-2015: the unified social credit code's alphabet (no I, O, S, V, Z) and weights.
_CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y年%m月%d日",
)


class FieldKind(StrEnum):
    """Kinds of sensitive field the data officer recognises in a column."""

    ID_NUMBER = "id_number"
    NAME = "name"
    PHONE = "phone"
    ADDRESS = "address"
    BANK_CARD = "bank_card"
    CREDIT_CODE = "credit_code"
    PLATE = "plate"
    HEALTH = "health"
    SOCIAL_SECURITY = "social_security"
    EMAIL = "email"
    TEXT_WITH_PII = "text_with_pii"


def quote(name: str) -> str:
    """A column or table name as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def clean(expr: str) -> str:
    """The value trimmed, upper-cased, with inner spaces and dashes removed."""
    return f"upper(regexp_replace(trim({expr}), '[\\s-]', '', 'g'))"


def is_blank(expr: str) -> str:
    return f"({expr} IS NULL OR trim(CAST({expr} AS VARCHAR)) = '')"


def _digit(expr: str, pos: int) -> str:
    return f"(ascii(substr({expr}, {pos}, 1)) - 48)"


def id_number_valid(expr: str) -> str:
    """GB 11643-1999 citizen identity number: 18 characters, a real birth date, ISO 7064 check."""
    v = clean(expr)
    total = " + ".join(f"{_digit(v, i + 1)} * {w}" for i, w in enumerate(_ID_WEIGHTS))
    return (
        f"(regexp_full_match({v}, '\\d{{17}}[\\dX]') "
        f"AND try_strptime(substr({v}, 7, 8), '%Y%m%d') IS NOT NULL "
        f"AND substr('{_ID_CHECK}', (({total}) % 11) + 1, 1) = substr({v}, 18, 1))"
    )


@cache
def _province_list() -> str:
    return ", ".join(literal(code) for code in sorted(region_table().provinces))


def id_number_like(expr: str) -> str:
    """Shaped like an ID number whatever its check digit: a known province and a real birth date.

    18 characters (17 digits and a digit or X) or a legacy 15-digit number. A mistyped check
    digit does not make the value any less a person's ID number (PIPL Art. 28), so columns and
    masks go by this shape; only the quality rules ask for the check digit too.
    """
    v = clean(expr)
    birth18 = f"try_strptime(substr({v}, 7, 8), '%Y%m%d')"
    birth15 = f"try_strptime('19' || substr({v}, 7, 6), '%Y%m%d')"
    real18 = f"{birth18} BETWEEN TIMESTAMP '1850-01-01' AND CAST(current_date AS TIMESTAMP)"
    return (
        f"(left({v}, 2) IN ({_province_list()}) AND ("
        f"(regexp_full_match({v}, '\\d{{17}}[\\dX]') AND {real18}) "
        f"OR (regexp_full_match({v}, '\\d{{15}}') AND {birth15} IS NOT NULL)))"
    )


def credit_code_valid(expr: str) -> str:
    """GB 32100-2015 unified social credit code: 18 characters with a mod-31 check character."""
    v = clean(expr)
    alphabet = literal(_CC_ALPHABET)
    terms = [
        f"(strpos({alphabet}, substr({v}, {i + 1}, 1)) - 1) * {w}"
        for i, w in enumerate(_CC_WEIGHTS)
    ]
    return (
        f"(regexp_full_match({v}, '[0-9A-HJ-NPQRTUWXY]{{2}}\\d{{6}}[0-9A-HJ-NPQRTUWXY]{{10}}') "
        f"AND substr({alphabet}, ((31 - (({' + '.join(terms)}) % 31)) % 31) + 1, 1) "
        f"= substr({v}, 18, 1))"
    )


def luhn_valid(expr: str) -> str:
    """Bank card numbers (16 to 19 digits) pass the Luhn check (ISO/IEC 7812-1)."""
    r = f"reverse({clean(expr)})"
    terms = []
    for i in range(1, 20):
        d = _digit(r, i)
        value = d if i % 2 else f"(CASE WHEN {d} * 2 > 9 THEN {d} * 2 - 9 ELSE {d} * 2 END)"
        terms.append(f"(CASE WHEN length({r}) >= {i} THEN {value} ELSE 0 END)")
    return f"(regexp_full_match({clean(expr)}, '\\d{{16,19}}') AND ({' + '.join(terms)}) % 10 = 0)"


def mobile_valid(expr: str) -> str:
    """Mainland mobile numbers: 11 digits starting 13-19, optionally with +86."""
    return f"regexp_full_match({clean(expr)}, '(\\+?86)?1[3-9]\\d{{9}}')"


def phone_valid(expr: str) -> str:
    """A mobile number or a landline with its area code (0531-12345678)."""
    landline = f"regexp_full_match({clean(expr)}, '0\\d{{2,3}}\\d{{7,8}}')"
    return f"({mobile_valid(expr)} OR {landline})"


def plate_valid(expr: str) -> str:
    """GA 36-2018 motor vehicle plates, including 6-character new-energy plates."""
    pattern = f"[{_PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳]"
    return f"regexp_full_match({clean(expr)}, '{pattern}')"


def email_valid(expr: str) -> str:
    return f"regexp_full_match(trim({expr}), '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{{2,}}')"


def name_like(expr: str) -> str:
    """Looks like a Chinese personal name: 2 to 4 Han characters, optionally with a middle dot."""
    return f"regexp_full_match(trim({expr}), '\\p{{Han}}{{1,2}}[·\\p{{Han}}]{{1,4}}')"


def address_like(expr: str) -> str:
    return (
        f"(length(trim({expr})) >= 6 AND "
        f"regexp_matches({expr}, '(省|市|区|县|镇|乡|街道|路|街|巷|村|小区|号楼|单元|室)'))"
    )


# The checks below recognise a kind from values alone, when the header says nothing. They are
# narrower than ``name_like`` / ``address_like`` (which only confirm a header), because without a
# header a district name or a status word must not pass for a person's name.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺"
    "顾毛郝龚邵钱严覃武戴莫孔汤温康施牛樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿焦俞左柳"
    "甘祝包尚符舒阮柯纪梅童凌毕裴霍涂苗谷盛曲翁冉骆蓝辛靳柴鲍喻祁蒲滕屈饶牟艾尤穆卓缪褚娄窦"
    "戚岑党宫费卜冷晏席卫米柏瞿佟臧闵苟邬卞姬仇栾隋刁巫寇桑郎甄丛仲虞敖巩佘池迟邝"
)
_COMPOUND_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|长孙|宇文|司徒|夏侯|端木|独孤|南宫"
)
# Endings of place, organisation and thing names that a personal name does not have.
_NOT_NAME_END = (
    "区|县|市|省|局|委|办|队|所|站|院|村|镇|乡|路|街|号|室|组|部|科|处|厅|会|司|店|厂|馆|校|楼"
)
_HEALTH_WORDS = (
    "高血压|糖尿病|冠心病|心脏病|肿瘤|癌|白血病|肝炎|结核|艾滋|HIV|精神分裂|抑郁|癫痫|残疾|伤残|"
    "偏瘫|脑梗|脑出血|中风|哮喘|尿毒症|透析|阳性|骨折|妊娠|怀孕|流产|病史|确诊|慢性病|住院|手术|过敏"
)
_SOCIAL_SECURITY_WORDS = (
    "养老保险|医疗保险|失业保险|工伤保险|生育保险|医保|社保|参保|低保|特困|五保|公积金|退休金|"
    "养老金|抚恤|优抚|救助"
)


def name_value(expr: str) -> str:
    """A Chinese personal name by its shape: a common surname and one or two given characters,
    a compound surname, or a name with a middle dot (阿依古丽·买买提)."""
    t = f"trim({expr})"
    shapes = (
        f"[{_SURNAMES}]\\p{{Han}}{{1,2}}|(?:{_COMPOUND_SURNAMES})\\p{{Han}}{{1,2}}"
        "|\\p{Han}{1,8}·\\p{Han}{1,8}"
    )
    return f"(regexp_full_match({t}, '{shapes}') AND NOT regexp_matches({t}, '({_NOT_NAME_END})$'))"


def address_value(expr: str) -> str:
    """A street address: an administrative division, a road or community, and a door number."""
    t = f"trim({expr})"
    return (
        f"(length({t}) BETWEEN 8 AND 80 "
        f"AND regexp_matches({t}, '(省|市|区|县|旗|镇|乡|街道)') "
        f"AND regexp_matches({t}, '(路|街|巷|道|村|里|弄|小区|花园|苑|庄)') "
        f"AND regexp_matches({t}, '[0-9一二三四五六七八九十]+(号|栋|幢|单元|室|组)'))"
    )


def health_value(expr: str) -> str:
    """Names a disease, a disability or a medical finding (PIPL Art. 28: 医疗健康)."""
    return f"regexp_matches({expr}, '({_HEALTH_WORDS})')"


def social_security_value(expr: str) -> str:
    """Names an insurance, a benefit or an assistance status."""
    return f"regexp_matches({expr}, '({_SOCIAL_SECURITY_WORDS})')"


def text_has_pii(expr: str) -> str:
    """Free text that contains a mobile number or an ID number somewhere inside it."""
    return f"regexp_matches({expr}, '(^|\\D)(1[3-9]\\d{{9}}|\\d{{17}}[\\dXx])(\\D|$)')"


def date_value(expr: str) -> str:
    """The value as a timestamp when it is a date in any format departments use, else NULL."""
    formats = ", ".join(literal(f) for f in DATE_FORMATS)
    return f"coalesce(try_cast({expr} AS TIMESTAMP), try_strptime(trim({expr}), [{formats}]))"


def date_valid(expr: str) -> str:
    return f"({date_value(expr)} IS NOT NULL)"


VALIDITY: dict[str, object] = {
    FieldKind.ID_NUMBER: id_number_valid,
    FieldKind.CREDIT_CODE: credit_code_valid,
    FieldKind.BANK_CARD: luhn_valid,
    FieldKind.PHONE: phone_valid,
    FieldKind.PLATE: plate_valid,
    FieldKind.EMAIL: email_valid,
    "mobile": mobile_valid,
    "date": date_valid,
}
"""Validity checks by name, as used in quality rules (``{"check": "id_number"}``)."""


def validity_sql(check: str, expr: str) -> str:
    fn = VALIDITY.get(check)
    if not callable(fn):
        known = "、".join(sorted(str(k) for k in VALIDITY))
        raise KeyError(f"未知的有效性检查 {check!r}，可用：{known}")
    result: str = fn(expr)
    return result


# Masks shown to people cleared below a field's grade, in the same display forms as
# ``shuzhi.privacy.mask_for_display`` (370102********123X, 138****5678). They keep enough to
# recognise a record; PIPL Art. 51 asks for de-identification measures where appropriate.
def mask_sql(kind: str, expr: str) -> str:
    v = f"CAST({expr} AS VARCHAR)"
    stars = "'****'"
    masks: dict[str, str] = {
        FieldKind.ID_NUMBER: _keep_ends(v, 6, "********", 4),
        FieldKind.PHONE: _keep_ends(v, 3, "****", 4),
        FieldKind.BANK_CARD: _keep_ends(v, 4, " **** **** ", 4),
        FieldKind.NAME: f"left(trim({v}), 1) || repeat('*', greatest(length(trim({v})) - 1, 1))",
        FieldKind.ADDRESS: f"left({v}, least(6, length({v}) // 2)) || {stars}",
        FieldKind.PLATE: f"left({v}, 2) || repeat('*', greatest(length({v}) - 3, 1)) "
        f"|| right({v}, 1)",
        FieldKind.EMAIL: f"left({v}, 1) || '***' || "
        f"(CASE WHEN strpos({v}, '@') > 0 THEN substr({v}, strpos({v}, '@')) ELSE '' END)",
        FieldKind.TEXT_WITH_PII: mask_text_sql(v),
        FieldKind.HEALTH: stars,
        FieldKind.SOCIAL_SECURITY: f"left({v}, least(2, length({v}) // 2)) || {stars}",
    }
    masked = masks.get(kind, f"left({v}, 1) || {stars}")
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {masked} END"


def _keep_ends(v: str, head: int, stars: str, tail: int) -> str:
    # A mistyped value may be short (1391234): keeping both ends of it would show it all, so
    # values with fewer than four characters between the kept ends keep only their first one.
    # Address and social-security masks likewise keep at most half of a value.
    return (
        f"(CASE WHEN length({v}) >= {head + tail + 4} "
        f"THEN left({v}, {head}) || '{stars}' || right({v}, {tail}) "
        f"ELSE left({v}, 1) || '****' END)"
    )


def mask_text_sql(expr: str) -> str:
    """Mask ID numbers, mobile numbers and landlines wherever they appear inside free text.

    The SQL form serves masked views; displayed rows also pass ``shuzhi.privacy``'s masker.
    """
    ids = (
        f"regexp_replace({expr}, '(^|\\D)(\\d{{6}})\\d{{8}}(\\d{{3}}[\\dXx])(\\D|$)', "
        f"'\\1\\2********\\3\\4', 'g')"
    )
    mobile = "'(^|\\D)(1[3-9]\\d)\\d{4}(\\d{4})(\\D|$)'"
    phones = f"regexp_replace({ids}, {mobile}, '\\1\\2****\\3\\4', 'g')"
    landline = "'(^|\\D)(0\\d{2,3}[-－]?)\\d{3,4}(\\d{4})(\\D|$)'"
    return f"regexp_replace({phones}, {landline}, '\\1\\2***\\3\\4', 'g')"
