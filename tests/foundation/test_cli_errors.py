"""Our own refusals in the CLI are one Chinese line, not click's English usage errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.clirun import run_cli


@pytest.fixture(autouse=True)
def _empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody at the terminal to answer


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "delete", "policies"),
        ("audit", "prune", "--older-than-days", "400"),
    ],
)
def test_a_destructive_command_without_yes_is_refused_in_one_chinese_line(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, *args)

    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and lines[0].startswith("错误：") and "--yes" in lines[0], run.stderr
    assert "Invalid value" not in run.stderr and "Aborted" not in run.stderr + run.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("kb", "search"), "缺少参数 'name'。"),
        (("db", "status"), "没有命令 'status'。"),
        (("kb", "search", "法规", "工伤", "-k", "abc"), "'-k' 的取值无效：应为整数"),
        (("kb", "search", "法规", "工伤", "--bogus"), "没有选项 --bogus。"),
        (("kb", "search", "法规", "工伤", "多余"), "多余的参数（多余）"),
        (("scenarios", "run", "social.severance-pay"), "缺少选项 '--input' / '-i'。"),
    ],
)
def test_usage_mistakes_are_explained_in_chinese(
    args: tuple[str, ...],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    result = run_cli(monkeypatch, capsys, *args)
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    for english in ("Missing", "No such", "Invalid value", "unexpected", "Input should"):
        assert english not in result.stderr


def test_a_message_no_pattern_knows_is_left_as_it_is() -> None:
    from shuzhi.cli.click_zh import translate

    assert translate("Something new from click.") == "Something new from click."
    assert (
        translate("No such option: --fo Did you mean --foo?") == "没有选项 --fo。是否想输入 --foo？"
    )


def test_a_choice_and_an_unknown_option_name_what_may_be_given() -> None:
    from shuzhi.cli.click_zh import translate

    choice = (
        "Invalid value for '--grade': Value error, 'secret' is not one of 'public', 'internal'."
    )
    assert translate(choice) == "'--grade' 的取值无效：secret 不在可选值中：'public', 'internal'"
    option = "No such option: --bogus (Possible options: --out)"
    assert translate(option) == "没有选项 --bogus（可用：--out）。"
    number = "Invalid value for '-k': Value 'abc' is not a valid int."
    assert translate(number) == "'-k' 的取值无效：'abc' 不是有效的值（应为 int）"


def test_a_path_that_cannot_be_written_is_one_chinese_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out`` naming an existing file ended in a FileExistsError traceback."""
    import errno

    from shuzhi.cli import main as cli_main

    def refuses() -> None:
        raise FileExistsError(errno.EEXIST, "File exists", "/srv/out")

    monkeypatch.setattr(cli_main, "app", refuses)
    result = run_cli(monkeypatch, capsys, "hotline", "run", "x.csv", "--out", "/srv/out")
    assert result.returncode == 1 and "/srv/out" in result.stderr
    assert "Traceback" not in result.stderr and "File exists" not in result.stderr


def test_folds_outside_their_range_are_refused_in_chinese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    many = run_cli(monkeypatch, capsys, "hotline", "train", "x.csv", "--folds", "1000")
    one = run_cli(monkeypatch, capsys, "hotline", "train", "x.csv", "--folds", "1")
    assert many.returncode == 2 and "'--folds' 的取值无效：应不大于 20" in many.stderr
    assert one.returncode == 2 and "交叉验证至少要 2 折" in one.stderr


GBK_QUERY = "失业金".encode("gbk").decode("utf-8", "surrogateescape")  # as a GBK terminal sends it


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "search", "法规库", GBK_QUERY),
        ("kb", "create", GBK_QUERY),
        ("kb", "ask", "x", "条\udce5"),
    ],
)
def test_an_argument_that_is_not_utf8_is_one_chinese_line(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(monkeypatch, capsys, *args)

    assert run.returncode == 2
    assert "不是 UTF-8 编码的文字" in run.stderr and "LANG=C.UTF-8" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_a_file_named_in_gbk_on_disk_is_still_a_path(tmp_path: Path) -> None:
    from shuzhi.cli.main import undecodable_argument

    named = tmp_path / "办事指南.md".encode("gbk").decode("utf-8", "surrogateescape")
    named.write_text("# 指南\n", encoding="utf-8")
    assert undecodable_argument(["kb", "import", "库", str(named)]) is None
    assert undecodable_argument(["kb", "import", "库", str(named) + "x"]) is not None
