"""A file the importer cannot read is refused in Chinese saying what to do, not in library text."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.hotline.importing import MAX_CELL_CHARS, import_file


def _refusal(path: Path) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        import_file(path)
    return caught.value


@pytest.mark.parametrize(
    "content",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an Excel 97-2003 workbook renamed to .xlsx",
        "留言详情\n路灯坏了\n".encode(),  # a CSV renamed to .xlsx
    ],
)
def test_a_file_that_is_not_xlsx_is_named_as_such(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "留言.xlsx"
    path.write_bytes(content)

    refusal = _refusal(path)

    assert (
        refusal.message == "留言.xlsx 不是有效的 .xlsx 文件（可能是 .xls 旧格式、已加密或已损坏）"
    )
    assert "另存为 .xlsx 或 CSV" in (refusal.hint or "")
    assert "zip" not in str(refusal).lower()


def test_an_unreadable_csv_gives_the_reason_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "留言.csv"
    path.write_text("留言详情\n路灯坏了\n", "utf-8")

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)

    assert _refusal(path).message == "无法读取 留言.csv：没有访问权限"


def test_a_folder_given_as_the_file_is_named_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "留言.csv"
    folder.mkdir()

    assert _refusal(folder).message == f"{folder} 是文件夹，不是文件"


def test_a_csv_the_reader_chokes_on_is_refused_without_the_csv_module_text(tmp_path: Path) -> None:
    path = tmp_path / "留言.csv"
    path.write_text('留言详情\n"' + "长" * (MAX_CELL_CHARS + 1) + '"\n', "utf-8")

    refusal = _refusal(path)

    assert refusal.message == "留言.csv 第 2 行无法按 CSV 读取（引号不配对或单元格过长）"
    assert "field" not in str(refusal)
