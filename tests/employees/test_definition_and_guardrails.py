"""Definition errors point at field and line; the word filter scales; streamed blanking is exact."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.employees import builtin_definitions, definition_from_text
from shuzhi.employees.guardrails import StreamBlanker, WordFilter, check_input
from shuzhi.errors import InvalidInput
from shuzhi.storage.db import Database
from tests.employees.conftest import define

GOOD = """id: test-clerk
name: 测试员
department: {code: hrss, name: 人社局}
role: 解答社保问题。
skills: [handoff, my_work_orders]
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        definition_from_text(text, "clerk.yaml")
    problems: list[str] = caught.value.detail["problems"]
    return problems


def test_shipped_definitions_are_valid() -> None:
    ids = {d.id for d in builtin_definitions()}
    assert {"social-insurance-clerk", "hotline-receptionist", "front-desk"} <= ids


def test_errors_name_the_file_line_and_field() -> None:
    bad = GOOD.replace("id: test-clerk", "id: Test_Clerk").replace("{code: hrss", "{code: 人社")
    problems = _problems(bad + "guardrails:\n  max_turns: 0\n")
    assert any(p.startswith("clerk.yaml:1 字段 id：") for p in problems)
    assert any(p.startswith("clerk.yaml:3 字段 department.code：") for p in problems)
    assert any(p.startswith("clerk.yaml:7 字段 guardrails.max_turns：") for p in problems)


def test_unknown_keys_and_cross_field_rules_point_at_their_field() -> None:
    problems = _problems(GOOD + "skils: [handoff]\n")
    assert problems == ["clerk.yaml:6 字段 skils：不认识的字段"]
    offline = GOOD + "offline_skills:\n  - {skill: create_work_order}\n"
    [problem] = _problems(offline)
    assert (
        problem.startswith("clerk.yaml:7 字段 offline_skills：") and "create_work_order" in problem
    )
    both = GOOD + "mcp_servers:\n  - name: bus\n    command: [x]\n    url: http://a/mcp\n"
    [problem] = _problems(both)
    assert problem.startswith("clerk.yaml:7 字段 mcp_servers.0：") and "只填一个" in problem
    level = GOOD + "mcp_servers:\n  - name: bus\n    url: http://a/mcp\n    level: citizen_own\n"
    assert _problems(level)[0].startswith("clerk.yaml:9 字段 mcp_servers.0.level：")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(InvalidInput, match="第 3 行"):
        definition_from_text("id: a\nname: b\n  role: x\n", "clerk.yaml")


def test_references_are_checked_when_applied(installed: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        define(installed, GOOD.replace("my_work_orders", "make_coffee") + "scenarios: [x.y]\n")
    problems = caught.value.detail["problems"]
    assert "字段 skills.1：没有名为 make_coffee 的技能" in problems
    assert "字段 scenarios.0：没有场景 x.y" in problems
    with pytest.raises(InvalidInput, match="sensitive_words_file：找不到文件"):
        define(installed, GOOD + "guardrails: {sensitive_words_file: /nonexistent/words.txt}\n")


def _words(n: int, seed: int = 7) -> set[str]:
    rng = random.Random(seed)
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    return {"".join(rng.choices(alphabet, k=rng.randint(3, 8))) for _ in range(n)}


def test_word_filter_with_tens_of_thousands_of_words_finds_every_hit() -> None:
    words = _words(50_000)
    assert len(words) > 45_000
    chosen = sorted(words)[::5000]
    text = "群众来信：" + "，".join(f"某某{w}某某" for w in chosen) + "。完"
    found = {w for _, _, w in WordFilter(words).find(text)}
    assert set(chosen) <= found
    assert found <= words and all(w in text for w in found)
    blanked = WordFilter(words).blank(text)
    assert not any(w in blanked for w in chosen) and blanked.endswith("。完")


def test_sensitive_input_verdict_lists_the_hits() -> None:
    filt = WordFilter({"网络赌博", "办假证"})
    verdict = check_input("想问问办假证和网络赌博的事", filt, [], "社保")
    assert not verdict.allowed and verdict.kind == "sensitive"
    assert verdict.hits == ["办假证", "网络赌博"]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="买卖银行卡办假证abc，。", max_size=60),
    cuts=st.lists(st.integers(min_value=1, max_value=6), max_size=30),
)
def test_streamed_blanking_equals_blanking_the_whole_answer(text: str, cuts: list[int]) -> None:
    words = WordFilter({"买卖银行卡", "银行", "办假证", "假证办"})
    blanker = StreamBlanker(words)
    shown, at = [], 0
    for size in cuts:
        shown.append(blanker.feed(text[at : at + size]))
        at += size
    shown.append(blanker.feed(text[at:]))
    shown.append(blanker.flush())
    assert "".join(shown) == words.blank(text)
