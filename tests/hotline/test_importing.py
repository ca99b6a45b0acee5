from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.hotline.importing import import_file, parse_datetime


def test_messy_xlsx_is_cleaned_and_problems_carry_row_numbers(messy_xlsx: Path) -> None:
    result = import_file(messy_xlsx)

    assert [m.ref for m in result.messages] == ["1", "2", "3", "5"]
    first = result.messages[0]
    assert first.text == "A市A3区联丰路阳光新村门口下雨积水严重，请尽快处理。"
    assert first.row == 3 and first.votes_up == 3 and first.label == "城乡建设"
    # 2019/2/28 11:25:05 Beijing time is 03:25:05 UTC.
    assert first.received_at == datetime(2019, 2, 28, 3, 25, 5, tzinfo=UTC)
    assert result.messages[1].received_at == datetime(2017, 6, 8, 9, 31, 20, tzinfo=UTC)
    assert result.messages[2].received_at == datetime(2019, 9, 27, 1, 0, tzinfo=UTC)
    assert result.messages[2].votes_up == 5

    problems = {p.row: p for p in result.problems}
    assert not problems[7].kept and "为空" in problems[7].reason
    assert problems[8].kept and "上个月" in problems[8].reason
    assert result.messages[3].received_at is None


def test_gbk_csv_is_detected(gbk_csv: Path) -> None:
    result = import_file(gbk_csv)
    assert result.encoding in ("gb18030", "gbk")
    assert result.messages[0].title == "小区停水"
    assert "锦绣花园" in result.messages[0].text
    assert result.messages[1].title == "" and result.messages[1].label == "教育文体"
    assert result.messages[1].row == 3


def test_configurable_header_mapping(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("序号,诉求内容,受理日期\n1,路灯不亮,2020年1月6日\n", encoding="utf-8")
    default = import_file(path)
    assert default.messages[0].text == "路灯不亮"

    custom = import_file(path, headers={"text": ["诉求内容"], "received_at": ["受理日期"]})
    assert custom.messages[0].received_at == datetime(2020, 1, 5, 16, 0, tzinfo=UTC)


def test_a_file_without_a_text_column_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("甲,乙\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="留言内容"):
        import_file(path)


def test_unsupported_or_missing_files(tmp_path: Path) -> None:
    doc = tmp_path / "a.doc"
    doc.write_bytes(b"x")
    with pytest.raises(InvalidInput, match="不支持"):
        import_file(doc)
    with pytest.raises(InvalidInput, match="找不到"):
        import_file(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/2/28 11:25:05", datetime(2019, 2, 28, 3, 25, 5, tzinfo=UTC)),
        ("2017-06-08 17:31:20", datetime(2017, 6, 8, 9, 31, 20, tzinfo=UTC)),
        ("2019年3月1日", datetime(2019, 2, 28, 16, 0, tzinfo=UTC)),
        (43525.5, datetime(2019, 3, 1, 4, 0, tzinfo=UTC)),
        ("不是日期", None),
        (3, None),
    ],
)
def test_parse_datetime(value: object, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


@pytest.mark.realdata
def test_every_shared_hotline_file_imports(shared_data: Path) -> None:
    for name in ("messages_sample.xlsx", "messages_with_replies.xlsx", "messages_labelled.csv"):
        result = import_file(shared_data / "hotline" / name)
        assert len(result.messages) > 400
        assert not [p for p in result.problems if not p.kept]
        assert not result.messages[0].text.startswith(("\n", "\t", " "))


def test_a_long_message_imports_and_a_runaway_cell_is_a_clear_error(tmp_path: Path) -> None:
    long_text = "路灯坏了" * 50_000  # 200,000 characters: past the csv module's default limit
    ok = tmp_path / "long.csv"
    ok.write_text(f"留言编号,留言详情\nL1,{long_text}\n", encoding="utf-8")
    runaway = tmp_path / "runaway.csv"
    runaway.write_text('留言编号,留言详情\nL1,"' + "字" * 1_100_000 + "\n", encoding="utf-8")

    assert len(import_file(ok).messages[0].text) == len(long_text)
    with pytest.raises(InvalidInput, match=r"runaway\.csv 第 .* 行无法按 CSV 读取"):
        import_file(runaway)


def test_an_unclosed_quote_is_a_problem_row_not_a_merged_message(tmp_path: Path) -> None:
    """The quote runs on to the end of the file: the rows it swallowed make no order."""
    path = tmp_path / "q.csv"
    path.write_text(
        '留言主题,留言详情\n第一行,正常\n"未闭合引号,路灯坏了\n第二行,正常内容请处理\n', "utf-8"
    )

    result = import_file(path)

    assert [m.title for m in result.messages] == ["第一行"]
    (problem,) = result.problems
    assert problem.row == 3 and not problem.kept
    assert problem.reason.startswith("这一行的引号没有闭合，其后 1 行（第 4 行）被读进了同一格")


def test_an_unclosed_quote_closed_by_a_later_row_spares_the_rows_after(tmp_path: Path) -> None:
    """A quote left open ends at the next quote in a later row; what follows reads as before,
    and a properly quoted cell with a line break is still one message."""
    path = tmp_path / "q.csv"
    path.write_text(
        "留言主题,留言详情\n"
        '"未闭合,路灯坏了\n第二行,正常内容\n第三行,"他说""你好"""\n'
        '第四行,"多行\n内容"\n第五行,好\n',
        "utf-8",
    )

    result = import_file(path)

    assert [(m.row, m.title, m.text) for m in result.messages] == [
        (6, "第四行", "多行\n内容"),
        (7, "第五行", "好"),
    ]
    assert [(p.row, p.reason[:33]) for p in result.problems] == [
        (2, "这一行的引号没有闭合，其后 2 行（第 3–4 行）被读进了同一格")
    ]


def test_an_unclosed_quote_in_the_header_is_named(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('留言主题,"留言详情\n甲,路灯坏了\n', "utf-8")
    with pytest.raises(InvalidInput, match=r"q\.csv 第 1 行：这一行的引号没有闭合"):
        import_file(path)
