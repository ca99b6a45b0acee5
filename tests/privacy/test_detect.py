import pytest

from shuzhi.privacy import PiiKind, count_pii, detect

ID = "370102199001011231"  # valid check digit
ID_X = "11010519491231002X"
CARD = "6222021234567890128"  # UnionPay BIN, passes Luhn
VISA = "4111111111111111"


def kinds(text: str) -> list[tuple[PiiKind, str]]:
    return [(s.kind, s.value) for s in detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"身份证号：{ID}，请核实。", [(PiiKind.ID_NUMBER, ID)]),
        (f"证件号码{ID_X.lower()}。", [(PiiKind.ID_NUMBER, ID_X.lower())]),
        ("联系电话13812345678", [(PiiKind.MOBILE, "13812345678")]),
        ("手机：+86 138-1234-5678。", [(PiiKind.MOBILE, "+86 138-1234-5678")]),
        ("电话 8613912345678 联系", [(PiiKind.MOBILE, "8613912345678")]),
        ("号码199 1234 5678。", [(PiiKind.MOBILE, "199 1234 5678")]),
        ("座机0531-86081234", [(PiiKind.LANDLINE, "0531-86081234")]),
        ("座机(0531)86081234", [(PiiKind.LANDLINE, "(0531)86081234")]),
        ("座机（0531）86081234", [(PiiKind.LANDLINE, "（0531）86081234")]),
        ("北京010-62345678转8001", [(PiiKind.LANDLINE, "010-62345678转8001")]),
        (f"卡号{CARD}。", [(PiiKind.BANK_CARD, CARD)]),
        ("卡号6222 0212 3456 7890 128", [(PiiKind.BANK_CARD, "6222 0212 3456 7890 128")]),
        (f"Visa {VISA}", [(PiiKind.BANK_CARD, VISA)]),
        ("邮箱zhang.san_01@mail.example.com。", [(PiiKind.EMAIL, "zhang.san_01@mail.example.com")]),
        ("车牌鲁A12345停在楼下", [(PiiKind.PLATE, "鲁A12345")]),
        ("新能源车鲁AD12345", [(PiiKind.PLATE, "鲁AD12345")]),
        ("护照号码：E12345678", [(PiiKind.PASSPORT, "E12345678")]),
    ],
)
def test_detects(text: str, expected: list[tuple[PiiKind, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "请拨打12345市民服务热线",
        "拨打0531-12345反映",
        "订单号202301011234567890123已发货",  # long digit run
        "编号SF1381234567801",  # letters glued to digits
        f"流水号9{ID}1",  # an ID inside a longer run
        f"{ID}5",  # ID followed by a digit
        "370102199001011234",  # bad check digit
        "370102199002301230",  # 2月30日
        "6222021234567890127",  # fails Luhn
        "1234567890123456",  # no known BIN prefix
        "时间戳1700000000123",
        "2023-10-01 12:30:45",
        "20231001123045",
        "项目总投资15000000000元",  # 11 digits followed by 元
        "金额¥13812345678",
        "增长3.13812345678倍",
        "QQ号码 12345678",
        "鲁迅1234年",  # not a plate shape
        "E12345678 是产品型号",  # passport shape without the word 护照
        "邮箱格式为 name@",
        "第12345号文件",
    ],
)
def test_does_not_detect(text: str) -> None:
    assert detect(text) == []


def test_span_positions_match_text() -> None:
    text = f"张三{ID}李四13812345678，鲁A12345"
    for span in detect(text):
        assert text[span.start : span.end] == span.value


def test_email_wins_over_digits_inside_it() -> None:
    assert kinds("邮箱13812345678@163.com") == [(PiiKind.EMAIL, "13812345678@163.com")]


def test_id_number_preferred_over_bank_card() -> None:
    # 62 is 甘肃; this ID also passes Luhn and starts like a UnionPay card.
    from shuzhi.cn.ids import id_check_digit, luhn_ok

    for seq in range(100, 1000):
        first17 = f"62010219800101{seq}"
        number = first17 + id_check_digit(first17)
        if luhn_ok(number):
            break
    assert kinds(number) == [(PiiKind.ID_NUMBER, number)]


def test_several_items_in_order() -> None:
    text = f"{ID}，13812345678，{CARD}，0531-86081234，a@b.cn，鲁A12345"
    assert [s.kind for s in detect(text)] == [
        PiiKind.ID_NUMBER,
        PiiKind.MOBILE,
        PiiKind.BANK_CARD,
        PiiKind.LANDLINE,
        PiiKind.EMAIL,
        PiiKind.PLATE,
    ]


def test_count_pii_has_every_kind() -> None:
    counts = count_pii(f"13812345678 和 13912345678，{ID}")
    assert counts[PiiKind.MOBILE] == 2
    assert counts[PiiKind.ID_NUMBER] == 1
    assert counts[PiiKind.EMAIL] == 0
    assert set(counts) == set(PiiKind)


def test_empty_text() -> None:
    assert detect("") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("联系电话：86081234", "86081234"),
        ("传真 2178591。", "2178591"),
        ("办公室座机为86081234", "86081234"),
    ],
)
def test_local_landline_after_a_phone_word(text: str, value: str) -> None:
    assert kinds(text) == [(PiiKind.LANDLINE, value)]


@pytest.mark.parametrize("text", ["电话费86081234元", "热线12345", "电话2019年", "房号86081234"])
def test_local_landline_needs_the_word_and_a_phone_shape(text: str) -> None:
    assert detect(text) == []


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("咨询电话：0735-2178591、2178592。", ["0735-2178591", "2178592"]),
        ("联系电话：3322792、3322793", ["3322792", "3322793"]),
        ("0531-86081234或86081235", ["0531-86081234", "86081235"]),
    ],
)
def test_second_local_number_in_a_list(text: str, values: list[str]) -> None:
    assert [s.value for s in detect(text)] == values


def test_list_of_plain_numbers_is_not_a_phone_list() -> None:
    assert detect("文号第2178591、2178592号") == []


# A mistyped ID number: right region and birth date, wrong check digit (the right one is 7).
MISTYPED = "110101198512120021"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"身份证号{MISTYPED}，", MISTYPED),
        (f"身份证号码：{MISTYPED}。", MISTYPED),
        (f"证件号码为 {MISTYPED[:-1]}x", MISTYPED[:-1] + "x"),
        (f"公民身份号码{MISTYPED}", MISTYPED),
        ("身份证 110101 19851212 0021 已核对", "110101 19851212 0021"),
        ("身份证号码是370102850101123", "370102850101123"),  # legacy 15 digits
    ],
)
def test_mistyped_id_right_after_an_id_word_is_taken(text: str, value: str) -> None:
    assert kinds(text) == [(PiiKind.ID_NUMBER, value)]


@pytest.mark.parametrize(
    "text",
    [
        f"我的{MISTYPED}",  # no word announcing an ID number
        f"受理编号{MISTYPED}",
        f"身份证号{MISTYPED}5",  # part of a longer run
        "身份证号370102199002301230",  # 2月30日: not a birth date
        "身份证号000102199001011230",  # no such province
        "身份证尾号0021，",
    ],
)
def test_mistyped_id_needs_the_word_a_province_and_a_birth_date(text: str) -> None:
    assert detect(text) == []


def test_valid_id_after_the_word_is_found_once() -> None:
    assert kinds(f"身份证号{ID}") == [(PiiKind.ID_NUMBER, ID)]
