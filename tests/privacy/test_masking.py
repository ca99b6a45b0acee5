import pytest

from shuzhi.errors import InvalidInput
from shuzhi.privacy import Masker, PiiKind, Vault, mask, mask_for_display

ID = "370102199001011231"
CARD = "6222021234567890128"


def test_mask_replaces_items_with_numbered_placeholders() -> None:
    text = f"我叫张三，身份证{ID}，电话13812345678，备用13912345678。"
    masked, vault = mask(text)
    assert masked == "我叫张三，身份证〔身份证号1〕，电话〔手机号1〕，备用〔手机号2〕。"
    assert ID not in masked and "13812345678" not in masked
    assert vault.unmask(masked) == text


def test_same_value_same_placeholder_across_turns() -> None:
    masked1, vault = mask("电话13812345678")
    masked2, vault = mask("还是13812345678，另一个13612345678", vault)
    assert masked1 == "电话〔手机号1〕"
    assert masked2 == "还是〔手机号1〕，另一个〔手机号2〕"


def test_differently_written_phone_is_the_same_value() -> None:
    masked, _ = mask("13812345678 / +86 138-1234-5678")
    assert masked == "〔手机号1〕 / 〔手机号1〕"


@pytest.mark.parametrize(
    "echo",
    ["〔手机号1〕", "[手机号1]", "【手机号1】", "(手机号 1)", "（ 手机号1 ）", "［手机号1］"],
)
def test_unmask_tolerates_echoed_brackets(echo: str) -> None:
    _, vault = mask("电话13812345678")
    assert vault.unmask(f"请拨打{echo}联系") == "请拨打13812345678联系"


def test_unmask_leaves_unknown_placeholders() -> None:
    _, vault = mask("电话13812345678")
    assert vault.unmask("〔手机号9〕和〔邮箱1〕") == "〔手机号9〕和〔邮箱1〕"
    assert Vault().unmask("〔手机号1〕") == "〔手机号1〕"


def test_vault_round_trips_through_dict() -> None:
    masked, vault = mask(f"{ID} 13812345678 a@b.cn")
    restored = Vault.from_dict(vault.to_dict())
    assert restored.unmask(masked) == f"{ID} 13812345678 a@b.cn"
    again, _ = mask("a@b.cn 和 13700000000", restored)
    assert again == "〔邮箱1〕 和 〔手机号2〕"


def test_vault_from_bad_dict() -> None:
    with pytest.raises(InvalidInput):
        Vault.from_dict({"values": []})


def test_masking_text_twice_is_stable() -> None:
    masked, vault = mask(f"身份证{ID}")
    assert mask(masked, vault)[0] == masked


def test_extra_patterns() -> None:
    masker = Masker(extra_patterns={"工号": r"GH\d{6}", "住址": r"住在(?P<value>\S+?小区\d+号楼)"})
    masked, vault = masker.mask("工号GH123456，住在幸福小区3号楼，电话13812345678。")
    assert masked == "工号〔工号1〕，住在〔住址1〕，电话〔手机号1〕。"
    assert [s.kind for s in masker.detect("GH000001")] == [PiiKind.CUSTOM]
    assert vault.unmask(masked) == "工号GH123456，住在幸福小区3号楼，电话13812345678。"


@pytest.mark.parametrize(
    ("patterns", "word"),
    [({"坏": "(["}, "正则表达式有误"), ({"空": "x*"}, "空字符串"), ({" ": "x"}, "名称")],
)
def test_bad_extra_patterns_are_refused(patterns: dict[str, str], word: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Masker(extra_patterns=patterns)
    assert word in err.value.message


def test_kinds_can_be_limited() -> None:
    masker = Masker(kinds=[PiiKind.ID_NUMBER])
    assert masker.mask(f"{ID} 13812345678")[0] == "〔身份证号1〕 13812345678"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("370102199001011231", "370102********1231"),
        ("11010519491231002X", "110105********002X"),
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("6222021234567890128", "6222 **** **** 0128"),
        ("6222 0212 3456 7890 128", "6222 **** **** 0128"),
        ("zhang@example.com", "z***@example.com"),
        ("鲁A12345", "鲁A****5"),
        ("鲁AD12345", "鲁A*****5"),
        ("0531-86081234", "0531-****1234"),
        ("护照E12345678", "护照E******78"),
    ],
)
def test_mask_for_display(text: str, shown: str) -> None:
    assert mask_for_display(text) == shown


def test_mask_for_display_keeps_the_rest() -> None:
    text = "市民（电话13812345678）反映：12345转办。"
    assert mask_for_display(text) == "市民（电话138****5678）反映：12345转办。"


def test_vault_repr_leaks_no_values() -> None:
    _, vault = mask(f"身份证{ID}，电话13812345678")
    shown = repr(vault) + str(vault)
    assert ID not in shown and "13812345678" not in shown
    assert "〔手机号1〕" in shown


def test_mistyped_id_after_the_word_never_reaches_the_model() -> None:
    text = "身份证号110101198512120021，另见受理编号110101198512120021"
    masked, vault = mask(text)
    assert masked == "身份证号〔身份证号1〕，另见受理编号110101198512120021"
    assert vault.unmask(masked) == text
    assert mask_for_display("身份证号110101198512120021") == "身份证号110101********0021"
