from datetime import date

import pytest

from shuzhi.cn.ids import (
    is_mobile,
    is_plate,
    is_valid_credit_code,
    is_valid_id_number,
    luhn_ok,
    parse_credit_code,
    parse_id_number,
)

# Check digits worked out by hand with the GB 11643-1999 weights.
VALID_IDS = ["11010519491231002X", "440524188001010014", "370102199001011231"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_id_numbers(number: str) -> None:
    assert is_valid_id_number(number)
    assert parse_id_number(number).problems == []


def test_id_number_fields() -> None:
    info = parse_id_number("370102199001011231")
    assert info.valid
    assert info.region_code == "370102"
    assert info.region_name == "山东省济南市历下区"
    assert info.birth_date == date(1990, 1, 1)
    assert info.sex == "男"
    assert parse_id_number("11010519491231002X").sex == "女"


def test_lowercase_x_and_spaces_are_accepted() -> None:
    assert is_valid_id_number("11010519491231002x")
    assert is_valid_id_number(" 110105 19491231 002X ")


def test_bad_check_digit_is_explained() -> None:
    info = parse_id_number("370102199001011234")
    assert not info.valid
    assert info.problems == ["校验码错误：第18位应为1，实际为4"]


@pytest.mark.parametrize(
    ("number", "word"),
    [
        ("37010219900101123", "长度"),
        ("3701021990010112311", "长度"),
        ("37010219900A011231", "长度"),
        ("", "长度"),
        ("370102199002301231", "出生日期不存在"),
        ("990102199001011231", "地区代码未知"),
    ],
)
def test_problems_are_named_in_chinese(number: str, word: str) -> None:
    info = parse_id_number(number)
    assert not info.valid
    assert any(word in p for p in info.problems)


def test_birth_date_in_future_is_invalid() -> None:
    info = parse_id_number("110105204901010015", today=date(2026, 1, 1))
    assert not info.valid
    assert any("未来" in p for p in info.problems)


def test_legacy_15_digit_number() -> None:
    info = parse_id_number("370102900101123")
    assert info.valid
    assert info.birth_date == date(1990, 1, 1)
    assert info.sex == "男"
    assert not is_valid_id_number("370102901301123")


def test_credit_codes() -> None:
    info = parse_credit_code("91350100M000100Y43")
    assert info.valid
    assert info.registration_authority == "工商"
    assert info.org_type == "企业"
    assert info.region_code == "350100"
    assert is_valid_credit_code("12100000400000624D")  # central-level body, region 100000


def test_credit_code_problems() -> None:
    wrong = parse_credit_code("91350100M000100Y44")
    assert not wrong.valid and "校验码错误" in wrong.problems[0]
    assert not is_valid_credit_code("91350100M000100Y4")
    assert not is_valid_credit_code("91350100M000100YI3")  # I is not in the alphabet
    assert "格式不对" in parse_credit_code("hello").problems[0]


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("6222021234567890128")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("")
    assert not luhn_ok("4111-1111")
    assert not luhn_ok("４１１１")  # full-width digits are not accepted as digits here


@pytest.mark.parametrize(
    "s", ["13812345678", "+8613812345678", "+86 138 1234 5678", "0086-199-1234-5678"]
)
def test_mobile_yes(s: str) -> None:
    assert is_mobile(s)


@pytest.mark.parametrize("s", ["12345678901", "1381234567", "138123456789", "12345", "abc"])
def test_mobile_no(s: str) -> None:
    assert not is_mobile(s)


@pytest.mark.parametrize("s", ["鲁A12345", "鲁AD12345", "京N·8E8P2", "粤B12345D", "鲁A1234学"])
def test_plate_yes(s: str) -> None:
    assert is_plate(s)


@pytest.mark.parametrize("s", ["鲁I12345", "鲁A1234", "AA12345", "鲁A123456", "鲁AO1234"])
def test_plate_no(s: str) -> None:
    assert not is_plate(s)
