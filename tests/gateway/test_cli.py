"""``shuzhi models``: add, alias, list, test, chat and usage against a scripted endpoint."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from shuzhi.cli.models import app
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.gateway.testing import Reply, ScriptedModelServer


def test_add_alias_list_test_chat_and_usage(
    env: dict[str, str], scripted_model: ScriptedModelServer
) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("add", "city-v3", "--base-url", scripted_model.base_url, "--model", "deepseek-chat",
        "--trust-zone", "inside", "--price-input", "2", "--price-output", "8")  # fmt: skip
    run("alias", "gov-chat", "city-v3", "--default")
    listing = run("list")
    scripted_model.push("正常", Reply(reasoning="思考", content="这是回答"))
    tested = run("test")
    chatted = run("chat", "社保卡怎么补办？")
    usage = run("usage", "--by", "endpoint")

    assert "city-v3" in listing and "gov-chat" in listing and "inside" in listing
    assert "✓ city-v3" in tested
    assert "这是回答" in chatted and "AI 生成内容" in chatted
    assert "city-v3" in usage and "2" in usage


def test_bad_input_is_a_clear_error(env: dict[str, str]) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["add", "x", "--base-url", "ftp://x", "--model", "m"], env=env)
    assert isinstance(bad.exception, InvalidInput)
    assert "http://" in bad.exception.message
    runner.invoke(app, ["add", "x", "--base-url", "http://10.0.0.1/v1", "--model", "m"], env=env)
    again = runner.invoke(app, ["add", "x", "--base-url", "http://10.0.0.1/v1", "--model", "m"],
                          env=env)  # fmt: skip
    assert isinstance(again.exception, Conflict)


def test_command_line_prints_one_line_errors_without_traceback(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "models", "alias", "gov-chat", "missing-endpoint"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert "missing-endpoint" in result.stderr and "Traceback" not in result.stderr


def test_bad_options_are_named_as_typed_with_chinese_reasons() -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["add", "x", "--base-url", "http://10.0.0.1/v1", "--model", "m",
                                "--kind", "chatt", "--timeout", "0", "--rpm", "0"])  # fmt: skip
    updated = runner.invoke(app, ["update", "x", "--trust-zone", "moon", "--max-concurrency", "0"])

    assert isinstance(added.exception, InvalidInput) and isinstance(updated.exception, InvalidInput)
    assert added.exception.message == (
        "参数有误：--kind：可选值：'chat'、'reasoning'、'embedding'；--rpm：应不小于 1；"
        "--timeout：应大于 0.0"
    )
    assert updated.exception.message == (
        "参数有误：--trust-zone：可选值：'inside'、'outside'；--max-concurrency：应不小于 1"
    )
    assert updated.exception.hint is not None and "models update --help" in updated.exception.hint
