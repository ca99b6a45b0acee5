"""`shuzhi scenarios` names review policies in Chinese and explains a bad input file in Chinese."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from shuzhi.scenarios import load_catalogue
from tests.clirun import run_cli

SCENARIO = "approval.business-registration-precheck"  # reviewed before it takes effect


@pytest.fixture(autouse=True)
def _empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_show_and_list_name_the_review_policy_in_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = run_cli(monkeypatch, capsys, "scenarios", "show", SCENARIO)
    listed = run_cli(monkeypatch, capsys, "scenarios", "list", "--field", "approval")

    assert "人工把关：人工审批后生效" in shown.stdout
    asks = load_catalogue().get(SCENARIO).asks
    assert "面向：群众" in shown.stdout and asks and asks[0] in shown.stdout
    assert "人工审批后生效" in listed.stdout
    for code in ("approve_before_effect", "none", "citizen_confirms", "sampled_after"):
        assert code not in shown.stdout + listed.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{registration_type: "x"}', "不是合法 JSON：第 1 行第 2 列：键名须用英文双引号括起来"),
        ('{"a"：1}'.encode(), "不是合法 JSON：第 1 行第 5 列：中文标点 ： 应改为英文的 :"),
        ('{"公司": "泉智"}'.encode("gbk"), "文字编码无法识别（不是 UTF-8 编码），请另存为 UTF-8"),
    ],
)
def test_a_bad_input_file_is_explained_in_chinese(
    content: bytes,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)

    run = run_cli(monkeypatch, capsys, "scenarios", "run", SCENARIO, "-i", str(path))

    assert run.returncode == 2
    assert expected in run.stderr
    assert "Expecting" not in run.stderr and "codec" not in run.stderr


def test_a_missing_input_file_is_reported_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, "scenarios", "run", SCENARIO, "-i", str(tmp_path / "x.json"))

    assert run.returncode == 2
    assert f"无法读取输入文件 {tmp_path / 'x.json'}：文件不存在" in run.stderr


def test_an_input_file_saved_with_a_bom_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = load_catalogue().get(SCENARIO).cases[0].inputs
    path = tmp_path / "input.json"
    path.write_text(json.dumps(inputs, ensure_ascii=False, default=str), "utf-8-sig")  # Notepad

    run = run_cli(monkeypatch, capsys, "scenarios", "run", SCENARIO, "-i", str(path))

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["scenario_id"] == SCENARIO
