import pytest

from shuzhi.cn.text import (
    STOPWORDS,
    chinese_number,
    clean_text,
    segment,
    segment_for_search,
    tag,
)


def test_clean_text_scraped_message() -> None:
    raw = (
        "\n\t\t\t\t\n\t\t\t\t尊敬的领导：\r\n"
        "\u3000\u3000您好！\u200b我是A3区 \t 的市民。\n\n\n\t谢谢！\r"
    )
    assert clean_text(raw) == "尊敬的领导：\n您好！我是A3区 的市民。\n谢谢！"


def test_clean_text_keeps_full_width_punctuation() -> None:
    text = "问：何时办理？答：工作日（周一至周五）！"
    assert clean_text(text) == text


def test_clean_text_drops_control_characters_and_bom() -> None:
    assert clean_text("\ufeff热线\x00电话\x07") == "热线电话"


def test_clean_text_of_empty_and_blank() -> None:
    assert clean_text("") == ""
    assert clean_text(" \n\t\u3000\r\n") == ""


def test_segment_returns_words_only() -> None:
    words = segment("济南市12345市民服务热线条例，自2018年起施行。")
    assert "热线" in words
    assert "12345" in words
    assert all(w.strip() == w and w for w in words)
    assert "，" not in words and "。" not in words


def test_tag_gives_the_words_of_segment_with_their_part_of_speech() -> None:
    text = "此外，小区附近的搅拌站噪音很大。"
    tagged = tag(text)
    assert "".join(w for w, _ in tagged) == text  # punctuation kept, in place
    assert [w for w, _ in tagged if w not in "，。"] == segment(text)
    pos = dict(tagged)
    assert pos["此外"] == "c" and pos["附近"] == "f" and pos["噪音"].startswith("n")


def test_segment_for_search_is_finer() -> None:
    coarse = segment("济南市人民政府")
    fine = segment_for_search("济南市人民政府")
    assert set(coarse) <= set(fine)
    assert len(fine) > len(coarse)
    assert "济南" in fine


def test_stopwords() -> None:
    assert {"的", "了", "和", "我们"} <= STOPWORDS
    assert "热线" not in STOPWORDS and "投诉" not in STOPWORDS
    assert all(w.strip() == w and w for w in STOPWORDS)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("第二十三条", 23),
        ("一百零五", 105),
        ("十", 10),
        ("第十一条", 11),
        ("第一百二十条", 120),
        ("二百", 200),
        ("一千零一", 1001),
        ("两千零二十四", 2024),
        ("三万五千", 35000),
        ("十万", 100000),
        ("一亿两千万", 120_000_000),
        ("二〇二四年", 2024),
        ("第12条", 12),
        ("壹佰贰拾叁元", 123),
        ("第三章第二节", 3),
        ("零", 0),
    ],
)
def test_chinese_number(text: str, value: int) -> None:
    assert chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "条", "abc", "第条"])
def test_chinese_number_none(text: str) -> None:
    assert chinese_number(text) is None
