"""The Chinese reasons given for the OS, encoding, zip and JSON errors behind a clerk's file."""

from __future__ import annotations

import errno
import json
import re
import zipfile
from pathlib import Path

import pytest

from shuzhi.errors import json_error_zh, os_error_zh, reason_zh

LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
CLERK_WORDS = {"JSON", "Windows"}  # the English a clerk reads: the format's name and the system's


def _json_error(text: str) -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a: 1}", "第 1 行第 2 列：键名须用英文双引号括起来"),
        ('{"a": 1,}', "第 1 行第 9 列：最后一项后面多了一个逗号"),
        ("[1, 2,]", "最后一项后面多了一个逗号"),
        ('{"a" 1}', "键名后缺少英文冒号"),
        ('{"a": 1\n "b": 2}', "第 2 行第 2 列：两项之间缺少英文逗号"),
        ('{"a": "x}', "字符串缺少结尾的英文双引号"),
        ('{"a": "C:\\data"}', "反斜杠"),
        ("{} {}", "多余的文字"),
        ('{"a"：1}', "中文标点 ： 应改为英文的 :"),
        ("{“a”: 1}", '中文标点 “ 应改为英文的 "'),
        ("   ", "内容为空"),
    ],
)
def test_a_json_slip_is_named_in_chinese_with_line_and_column(text: str, expected: str) -> None:
    reason = json_error_zh(_json_error(text))

    assert expected in reason
    assert set(LATIN_WORD.findall(reason)) <= CLERK_WORDS, reason


def test_reason_zh_reads_json_errors_before_the_generic_value_error() -> None:
    assert reason_zh(_json_error("{a: 1}")).startswith("第 1 行第 2 列")


def test_os_errors_are_told_by_errno_not_by_the_c_library_text(tmp_path: Path) -> None:
    with pytest.raises(OSError) as missing:
        (tmp_path / "nope.csv").read_bytes()
    with pytest.raises(OSError) as folder:
        tmp_path.read_bytes()

    assert os_error_zh(missing.value) == "文件不存在"
    assert "文件夹" in os_error_zh(folder.value)
    assert os_error_zh(PermissionError(errno.EACCES, "Permission denied")) == "没有访问权限"
    assert os_error_zh(OSError(errno.EIO, "Input/output error")) == "读写失败（错误码 EIO）"
    assert os_error_zh(OSError("no errno at all")) == "读写失败"


def test_a_missing_file_to_write_is_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError) as missing:
        (tmp_path / "no-such-folder" / "out.csv").write_text("x")

    assert os_error_zh(missing.value, writing=True) == "所在文件夹不存在"


def test_encoding_and_zip_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UnicodeDecodeError) as undecodable:
        "市民留言".encode("gbk").decode("utf-8")
    not_a_zip = tmp_path / "old.xlsx"
    not_a_zip.write_bytes(b"\xd0\xcf\x11\xe0 an old binary workbook")
    with pytest.raises(zipfile.BadZipFile) as bad_zip:
        zipfile.ZipFile(not_a_zip)

    assert "另存为 UTF-8" in reason_zh(undecodable.value)
    assert ".xls" in reason_zh(bad_zip.value) and "zip" not in reason_zh(bad_zip.value)
    assert reason_zh(KeyError("[Content_Types].xml")) == "文件格式有误或已损坏"
