from __future__ import annotations

from datetime import date

import pytest

from shuzhi.errors import InvalidInput
from shuzhi.scenarios.expr import ExpressionError, compile_expr, evaluate, render


def test_arithmetic_comparisons_and_boolean_logic() -> None:
    scope = {"years": 7, "voluntary": False}
    assert evaluate("years >= 5 and not voluntary", scope) is True
    assert evaluate("18 if years >= 5 else 12", scope) == 18
    assert evaluate("1 < years < 10", scope) is True
    assert evaluate("(years + 3) * 2 // 4 % 3", scope) == 2


def test_mappings_read_with_dots_and_comprehensions_filter() -> None:
    scope = {"bids": [{"name": "甲", "price": 10}, {"name": "乙", "price": 30}]}
    assert evaluate("[b.name for b in bids if b.price > 20]", scope) == ["乙"]
    assert evaluate("sum(b.price for b in bids)", scope) == 40
    assert evaluate("bids[0]['name']", scope) == "甲"


def test_names_read_are_reported_for_explanations() -> None:
    assert compile_expr("a > b and len(c) == 0 and [x for x in d]").names == ("a", "b", "c", "d")


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "().__class__.__bases__",
        "open('/etc/passwd')",
        "eval('1')",
        "lambda: 1",
        "x.__dict__",
    ],
)
def test_unsafe_expressions_are_refused_at_parse_time(source: str) -> None:
    with pytest.raises(InvalidInput):
        compile_expr(source)


def test_attribute_access_on_non_mappings_is_refused_at_run_time() -> None:
    with pytest.raises(ExpressionError, match="只能用于对象"):
        evaluate("s.upper", {"s": "abc"})


def test_huge_repetition_is_refused() -> None:
    with pytest.raises(ExpressionError, match="过长"):
        evaluate("'a' * 10000000", {})


def test_undefined_name_names_the_name() -> None:
    with pytest.raises(ExpressionError, match="amount"):
        evaluate("amount > 1", {})


def test_syntax_error_is_reported_with_the_expression() -> None:
    with pytest.raises(InvalidInput, match="语法错误"):
        compile_expr("a >")


def test_templates_render_values_as_clerk_facing_text() -> None:
    scope = {"items": ["身份证", "章程"], "ok": True, "due": date(2024, 3, 7), "x": 2.50}
    text = render("缺少{{ join(items) }}；合格：{{ ok }}；{{ zh_date(due) }}；{{ x }}元", scope)
    assert text == "缺少身份证、章程；合格：是；2024年3月7日；2.5元"


def test_domain_functions_use_the_shared_chinese_rules() -> None:
    assert evaluate("is_valid_id_number('370102199001011231')", {}) is True
    assert evaluate("is_valid_id_number('370102199001011234')", {}) is False
    assert evaluate("is_valid_credit_code('91370100MA3C123459')", {}) is True
    # 2024-09-30 + 3 working days skips the National Day holiday.
    assert evaluate("add_working_days('2024-09-30', 3)", {}) == date(2024, 10, 10)
    assert evaluate("regular_steps([100, 120, 140])", {}) is True
    assert evaluate("regular_steps([100, 125, 140])", {}) is False
    assert evaluate(
        "shared(rows, 'acct')",
        {
            "rows": [
                {"name": "甲", "acct": "1"},
                {"name": "乙", "acct": "1"},
                {"name": "丙", "acct": "2"},
            ]
        },
    ) == [["甲", "乙"]]
