import codecs
import random
from pathlib import Path

import pytest

from shuzhi.cn.encoding import decode_bytes, read_text
from shuzhi.errors import InvalidInput, NotFound

SAMPLE = "留言编号,留言主题\n1,关于A市A3区小区供暖不热的投诉——请尽快处理！\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "utf-8-sig"),
        (SAMPLE.encode("gbk"), "gb18030"),
        (SAMPLE.encode("gb18030"), "gb18030"),
        (SAMPLE.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), "utf-16"),
        (SAMPLE.encode("utf-32"), "utf-32"),
    ],
)
def test_decode_known_encodings(data: bytes, encoding: str) -> None:
    assert decode_bytes(data) == (SAMPLE, encoding)


def test_gb18030_only_characters() -> None:
    text = "姓名：𠀀𡃁（扩展B区字）"
    assert decode_bytes(text.encode("gb18030")) == (text, "gb18030")


def test_big5_falls_through_to_detection() -> None:
    text = "台北市政府公告：請市民注意颱風，今天下午停止上班上課。"
    decoded, encoding = decode_bytes(text.encode("big5"))
    assert decoded == text
    assert encoding == "big5"


def test_empty() -> None:
    assert decode_bytes(b"") == ("", "utf-8")


def test_binary_is_refused_in_chinese() -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4000))
    with pytest.raises(InvalidInput) as err:
        decode_bytes(data)
    assert "编码" in err.value.message


def test_read_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(SAMPLE.encode("gbk"))
    assert read_text(path) == SAMPLE


def test_read_text_missing(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        read_text(tmp_path / "missing.csv")
    assert "文件不存在" in err.value.message


def test_read_text_binary_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InvalidInput) as err:
        read_text(path)
    assert "photo.jpg" in err.value.message


@pytest.mark.parametrize("text", ["小", "小区", "测试", "供暖"])
def test_short_gbk_that_is_also_valid_utf8(text: str) -> None:
    assert decode_bytes(text.encode("gbk")) == (text, "gb18030")


@pytest.mark.parametrize("text", ["café", "Müller", "naïve résumé", "Москва " * 20])
def test_utf8_letters_stay_utf8(text: str) -> None:
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8")
