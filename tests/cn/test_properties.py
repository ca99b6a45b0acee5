"""Property tests: the check digits catch every single-character error, the calendar's two
directions agree, and the text helpers are total and stable."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.cn.calendar import WorkCalendar
from shuzhi.cn.encoding import decode_bytes
from shuzhi.cn.ids import (
    credit_check_char,
    id_check_digit,
    is_valid_credit_code,
    is_valid_id_number,
    luhn_ok,
    parse_credit_code,
    parse_id_number,
)
from shuzhi.cn.regions import region_table
from shuzhi.cn.text import chinese_number, clean_text
from shuzhi.errors import InvalidInput

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
regions = st.sampled_from(sorted(region_table().counties))
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    first17 = f"{draw(regions)}{draw(births):%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + id_check_digit(first17)


@given(st.text(max_size=40))
def test_parse_id_number_never_raises(s: str) -> None:
    info = parse_id_number(s)
    assert info.valid == (not info.problems)


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_substitution_in_an_id_number_is_caught(
    number: str, position: int, replacement: str
) -> None:
    assert is_valid_id_number(number)
    if position < 17 and replacement == "X":
        replacement = "0"
    changed = number[:position] + replacement + number[position + 1 :]
    if changed != number:
        assert not is_valid_id_number(changed)


@given(st.text(alphabet="0123456789", min_size=12, max_size=19), st.data())
def test_luhn_catches_single_digit_errors(body: str, data: st.DataObject) -> None:
    number = body + next(d for d in "0123456789" if luhn_ok(body + d))
    position = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from("0123456789"))
    changed = number[:position] + digit + number[position + 1 :]
    assert luhn_ok(changed) == (changed == number)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["11", "12", "51", "52", "91", "92", "93"]))
    region = draw(regions)
    rest = draw(st.text(alphabet=CREDIT_ALPHABET, min_size=9, max_size=9))
    first17 = head + region + rest
    return first17 + credit_check_char(first17)


@given(credit_codes(), st.integers(0, 17), st.sampled_from(CREDIT_ALPHABET))
def test_any_single_substitution_in_a_credit_code_is_caught(
    code: str, position: int, replacement: str
) -> None:
    assert is_valid_credit_code(code)
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        assert not is_valid_credit_code(changed)


@given(st.text(max_size=30))
def test_parse_credit_code_never_raises(s: str) -> None:
    info = parse_credit_code(s)
    assert info.valid == (not info.problems)


CAL = WorkCalendar()


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2035, 12, 31)), st.integers(0, 70))
def test_add_and_count_agree(start: date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due.date) == n
    if n > 0:
        assert CAL.is_working_day(due.date)
        assert CAL.add_working_days(start, n - 1).date < due.date
    if due.date.year <= 2026 and start.year <= 2026:
        assert due.warnings == []


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2035, 12, 31)), st.integers(1, 40))
def test_backwards_is_the_inverse(start: date, n: int) -> None:
    forward = CAL.add_working_days(start, n).date
    back = CAL.add_working_days(forward, -n).date
    # Going back lands on the last working day on or before ``start``.
    assert back <= start
    assert all(
        not CAL.is_working_day(back + timedelta(days=k)) for k in range(1, (start - back).days + 1)
    )


def to_chinese(n: int) -> str:
    """An independent writer of Chinese numerals below 10^8, for the round trip."""
    digits = "零一二三四五六七八九"

    def section(x: int) -> str:
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = x // value % 10
            if d == 0:
                zero = zero or bool(out)
                continue
            out += ("零" if zero else "") + digits[d] + unit
            zero = False
        return out

    if n == 0:
        return "零"
    high, low = divmod(n, 10_000)
    text = section(high) + "万" if high else ""
    if low:
        text += ("零" if high and low < 1000 else "") + section(low)
    return text


@given(st.integers(0, 99_999_999), st.booleans())
def test_chinese_number_round_trip(n: int, short_ten: bool) -> None:
    written = to_chinese(n)
    if short_ten and written.startswith("一十"):
        written = written[1:]
    assert chinese_number(f"第{written}条") == n


@given(st.text())
def test_clean_text_is_idempotent_and_tidy(s: str) -> None:
    cleaned = clean_text(s)
    assert clean_text(cleaned) == cleaned
    assert "\r" not in cleaned and "\n\n" not in cleaned and "\u200b" not in cleaned
    for line in cleaned.split("\n") if cleaned else []:
        assert line == line.strip() and line


@given(st.text().filter(lambda s: not s.startswith("\ufeff")))
def test_utf8_round_trip(s: str) -> None:
    two_byte_only = all(ch <= "\u07ff" for ch in s) and any(ch > "\x7f" for ch in s)
    if all(ch >= " " or ch in "\t\n\r\f" for ch in s) and not two_byte_only:
        assert decode_bytes(s.encode("utf-8"))[0] == s
        return
    try:  # text made of control characters may be refused as binary, never garbled
        text, encoding = decode_bytes(s.encode("utf-8"))
    except InvalidInput:
        return
    assert text == s or encoding != "utf-8"


chinese = st.text(
    alphabet=st.sampled_from(
        "济南市民热线投诉反映供暖小区物业停车噪音，。：！？“”（）0123456789ab "
    ),
    min_size=1,
)


@given(chinese)
def test_gbk_round_trip(s: str) -> None:
    text, _ = decode_bytes(s.encode("gbk"))
    assert text == s
