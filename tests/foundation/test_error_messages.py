"""The Chinese reasons given for the OS, encoding, zip, JSON and YAML errors behind a clerk's
file, and for the fields pydantic refuses."""

from __future__ import annotations

import errno
import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field, ValidationError

from shuzhi.errors import json_error_zh, os_error_zh, pydantic_problem_zh, reason_zh, yaml_error_zh

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


@pytest.mark.parametrize("loader", [yaml.SafeLoader, yaml.CSafeLoader], ids=["python", "libyaml"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\nb: 3\n", "第 1 行第 4 列：从这里开始的方括号 [ 没有闭合"),
        ("a: {b: 1\n", "第 1 行第 4 列：从这里开始的花括号 { 没有闭合"),
        ('a: "x\nb: 2\n', "第 1 行第 4 列：从这里开始的引号没有闭合（读到第 3 行第 1 列时发现）"),
        ("a: b: c\n", "第 1 行第 5 列：此处不能有“冒号加空格”"),
        ("a:\n\t- 1\n", "第 2 行第 1 列："),
        ("a: 1\nb\nc: 2\n", "第 2 行第 1 列：缺少英文冒号 :"),
        ("a: *nope\n", "引用了没有定义的锚点"),
        ("a: 1\n\x07\n", "第 6 个字符 U+0007 是 YAML 不允许的控制字符"),
    ],
)
def test_a_yaml_slip_is_named_in_chinese_with_line_and_column(
    loader: type[yaml.SafeLoader], text: str, expected: str
) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        loader(text).get_single_node()

    reason = yaml_error_zh(caught.value)

    assert reason.startswith(expected) or expected in reason, reason
    assert not set(LATIN_WORD.findall(reason)) - {"YAML", "Tab"}, reason


class _Form(BaseModel):
    name: str = Field(max_length=4)
    count: int = Field(ge=1)
    kind: str = Field(pattern="^[a-z]+$")
    items: list[int] = Field(default=[], max_length=2)
    extra: dict[str, int] = {}


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"name": "五个字的名", "count": 1, "kind": "a"}, "name", "最多 4 个字符（现有 5 个）"),
        ({"name": "a", "count": 0, "kind": "a"}, "count", "应不小于 1"),
        ({"name": "a", "count": "x", "kind": "a"}, "count", "应为整数"),
        ({"name": "a", "count": 1, "kind": "A"}, "kind", "格式不对（应匹配 ^[a-z]+$）"),
        ({"name": "a", "count": 1, "kind": "a", "items": [1, 2, 3]}, "items", "最多 2 项"),
        ({"name": "a", "count": 1, "kind": "a", "extra": []}, "extra", "应为对象（键值映射）"),
        ({"count": 1, "kind": "a"}, "name", "必填，缺少此项"),
    ],
)
def test_a_refused_field_is_told_in_chinese(
    data: dict[str, object], field: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate(data)

    [error] = caught.value.errors()

    assert error["loc"][0] == field and pydantic_problem_zh(error) == expected


def test_an_unknown_pydantic_problem_never_shows_its_english() -> None:
    error = {"type": "uuid_version", "msg": "UUID version 4 expected", "ctx": {}}

    assert pydantic_problem_zh(error) == "取值不符合要求（uuid_version）"
    assert (
        pydantic_problem_zh({"type": "value_error", "msg": "Value error, 地址有误"}) == "地址有误"
    )
