from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.hotline.extract import (
    classify_type,
    classify_urgency,
    extract_demands,
    extract_location,
)
from shuzhi.scenarios.hotline.rules import load_rules

RULES = load_rules()


def test_deadline_counts_working_days_across_national_day() -> None:
    # Friday 2019-09-27 (Beijing); Sunday 29 Sept was a make-up working day, 1-7 Oct holidays.
    received = datetime(2019, 9, 27, 2, 0, tzinfo=UTC)
    deadline = RULES.deadline(received, "help", "normal")
    assert deadline.due == date(2019, 10, 10)
    assert deadline.working_days == 5
    assert "第二十四条" in deadline.basis and "济南市12345市民服务热线条例" in deadline.basis


def test_urgent_orders_use_the_local_rule_and_say_it_is_not_statutory() -> None:
    deadline = RULES.deadline(datetime(2019, 9, 27, 2, 0, tzinfo=UTC), "help", "urgent")
    assert deadline.due == date(2019, 9, 29)
    assert "本地工作规范" in deadline.basis


def test_deadline_without_a_receipt_time_is_flagged() -> None:
    deadline = RULES.deadline(None, "complaint", "normal")
    assert deadline.due is None and deadline.warnings


def test_deadline_without_a_receipt_time_counts_from_the_import() -> None:
    """An order without a due date can never be overdue: count from when it was taken in."""
    accepted = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # a Monday, 10:00 Beijing time
    deadline = RULES.deadline(None, "help", "normal", accepted)
    assert deadline.due == date(2026, 12, 14)
    assert deadline.basis.endswith("5个工作日（留言时间缺失或无法识别，按导入受理时间起算）")

    past = RULES.deadline(datetime(9999, 12, 31, 12, tzinfo=UTC), "help", "normal", accepted)
    assert past.due is None, "a time given but past the calendar is the file's, not a gap"


def test_a_receipt_time_past_the_calendar_flags_the_order_not_the_batch() -> None:
    """9999-12-31 is a common "no date" value: one order without a due date, with the reason."""
    deadline = RULES.deadline(datetime(9999, 12, 31, 12, tzinfo=UTC), "help", "normal")
    assert deadline.due is None and "超出了可计算的日期范围" in deadline.warnings[0]


def test_duty_list_maps_categories_and_falls_back_to_a_person() -> None:
    assert RULES.handling_unit("劳动和社会保障") == "市人力资源和社会保障局"
    assert "人工" in RULES.handling_unit("没有这个分类")


@pytest.mark.parametrize(
    ("rules", "duty", "says"),
    [
        (
            "source: x\ntypes: []\ndeadlines:\n  default: {working_days: 五}\n",
            None,
            "rules.yaml 第 4 行：deadlines.default.working_days：应为整数",
        ),
        (
            "source: [unclosed\n",
            None,
            "rules.yaml YAML 格式错误：第 1 行第 9 列：从这里开始的方括号 [",
        ),
        (
            None,
            "default_unit: 人工\nunits: [市民政局]\n",
            "duty.yaml 第 2 行：units：应为对象（键值映射）",
        ),
    ],
)
def test_a_bad_rules_file_is_one_chinese_line_naming_the_file_and_line(
    tmp_path: Path, rules: str | None, duty: str | None, says: str
) -> None:
    paths = {}
    for name, text in (("rules.yaml", rules), ("duty.yaml", duty)):
        if text is not None:
            paths[name] = tmp_path / name
            paths[name].write_text(text, "utf-8")

    with pytest.raises(InvalidInput) as err:
        load_rules(paths.get("rules.yaml"), paths.get("duty.yaml"))

    assert f"热线规则文件 {tmp_path}" in err.value.message and says in err.value.message
    assert "\n" not in err.value.message
    assert not any(word in str(err.value) for word in ("Input should", "expected", "while"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A市A3区联丰路米兰春天G2栋320", {"city": "A市", "district": "A3区", "road": "联丰路"}),
        ("A2区暮云街道云塘社区", {"district": "A2区", "street": "暮云街道", "estate": "云塘社区"}),
        ("A市A5区红星小区停水", {"city": "A市", "district": "A5区", "estate": "红星小区"}),
        ("位于书院路主干道", {"road": "书院路"}),
        ("我想问一下社保的事", {}),
    ],
)
def test_location(text: str, expected: dict[str, str]) -> None:
    assert extract_location(text) == expected


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("", "举报某工厂夜间偷排废水", "report"),
        ("投诉出租车", "司机态度恶劣还乱收费", "complaint"),
        ("", "建议增设公交线路", "suggestion"),
        ("", "请问公积金怎么提取？", "consultation"),
        ("", "小区路灯坏了一个月", "help"),
    ],
)
def test_order_type(title: str, text: str, expected: str) -> None:
    assert classify_type(title, text, RULES) == expected


def test_urgency() -> None:
    assert classify_urgency("楼道里有燃气泄漏的味道", RULES) == "urgent"
    assert classify_urgency("停水两天了", RULES) == "high"
    assert classify_urgency("路灯不亮", RULES) == "normal"


def test_demands_are_the_sentences_that_ask() -> None:
    text = "我家楼下餐馆油烟很大。已经持续半年。希望有关部门尽快处理！请问油烟标准是多少？"
    assert extract_demands(text) == ["希望有关部门尽快处理！", "请问油烟标准是多少？"]
