from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import run_cli


def _cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(tmp_path / "data"),
        "SHUZHI_CONFIG": str(tmp_path / "none.toml"),
        "SHUZHI_DATABASE_URL": "",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "hotline", *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=280,
        cwd=tmp_path,
    )


def test_demo_without_shared_data_runs_on_the_generated_sample(tmp_path: Path) -> None:
    result = _cli("demo", tmp_path=tmp_path, SHUZHI_SHARED_DATA=str(tmp_path / "absent"))
    assert result.returncode == 0, result.stderr
    assert "模拟样例" in result.stdout
    report = tmp_path / "data" / "hotline-demo" / "report.html"
    assert report.is_file() and str(report) in result.stdout.replace("\n", "")
    assert (tmp_path / "data" / "hotline-demo" / "workorders.xlsx").is_file()


def test_run_and_train_report_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = _cli("run", str(tmp_path / "nope.csv"), "--no-store", tmp_path=tmp_path)
    assert missing.returncode == 2 and "找不到文件" in missing.stderr
    assert "Traceback" not in missing.stderr

    no_model = tmp_path / "m.csv"
    no_model.write_text("留言详情\n路灯坏了\n", "utf-8")
    untrained = _cli("run", str(no_model), "--no-store", tmp_path=tmp_path)
    assert untrained.returncode == 2 and "shuzhi hotline train" in untrained.stderr

    unlabelled = _cli("train", str(no_model), tmp_path=tmp_path)
    assert unlabelled.returncode == 2 and "没有带分类的工单" in unlabelled.stderr


@pytest.mark.realdata
def test_every_shared_file_runs_end_to_end(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "hotline"
    history = folder / "messages_labelled.csv"
    for name in (
        "messages_sample.xlsx",
        "messages_with_replies.xlsx",
        "messages_with_votes.xlsx",
        "messages_labelled.csv",
    ):
        out = tmp_path / name
        result = _cli(
            "run",
            str(folder / name),
            "--history",
            str(history),
            "--out",
            str(out),
            tmp_path=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert (out / "report.html").stat().st_size > 100_000  # echarts is inlined


def test_run_names_the_unusable_rows_and_writes_chinese_sentences(
    tmp_path: Path,
    sample_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history, sample = sample_files
    messages = tmp_path / "messages.csv"
    lines = sample.read_text("utf-8-sig").splitlines()
    blank_rows = [f"M9{i:04d},U1,2026/11/10 09:00:00,,城乡建设,0" for i in range(12)]
    messages.write_text("\n".join(lines + blank_rows) + "\n", "utf-8")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "60")
    out = tmp_path / "out"

    run = run_cli(
        monkeypatch, capsys, "hotline", "run", str(messages), "--history", str(history),
        "--out", str(out), "--no-store",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    first_blank = len(lines) + 1  # the header is line 1 of the file
    shown = [f"第 {first_blank + i} 行：留言主题和留言详情都为空" for i in range(10)]
    assert all(s in run.stdout for s in shown), run.stdout
    assert f"第 {first_blank + 10} 行" not in run.stdout
    assert "另有 2 行" in run.stdout
    assert f"已写出工单工作簿（Excel）：{out / 'workorders.xlsx'}" in run.stdout.splitlines()
    assert "workbook" not in run.stdout and "jsonl " not in run.stdout


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("留言主题,留言详情\n", "错误：“留言.csv”只有表头，没有可处理的留言"),
        ("留言主题,留言详情\n,\n , \n\n", "错误：“留言.csv”只有表头，没有可处理的留言"),
        ("", "错误：留言.csv 是空文件，没有任何内容"),
        ("\ufeff\n\n", "错误：留言.csv 是空文件，没有任何内容"),
        (  # the only data row opens a quote that swallows the rest
            '留言主题,留言详情\n"未闭合引号,路灯坏了\n第二行,正常内容请处理\n',
            "错误：“留言.csv”没有可处理的留言。第 2 行：这一行的引号没有闭合",
        ),
    ],
)
def test_run_refuses_a_file_without_messages_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    said: str,
) -> None:
    """As the API does: no empty workbook and report, and an exit code a script can see."""
    messages = tmp_path / "留言.csv"
    messages.write_text(content, "utf-8")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    out = tmp_path / "out"

    run = run_cli(
        monkeypatch, capsys, "hotline", "run", str(messages), "--out", str(out), "--no-store"
    )

    assert run.returncode == 2
    assert any(line.startswith(said) for line in run.stderr.splitlines()), run.stderr
    assert "Traceback" not in run.stderr and not out.exists()


def test_run_names_an_output_folder_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = tmp_path / "new.csv"
    messages.write_text("留言主题,留言详情\n路灯坏了,小区路灯不亮\n", "utf-8")
    taken = tmp_path / "taken"
    taken.write_text("", "utf-8")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))

    run = run_cli(monkeypatch, capsys, "hotline", "run", str(messages), "--out", str(taken))

    assert run.returncode == 2, run.stderr
    assert f"错误：输出目录 {taken} 是一个已有的文件，不是文件夹" in run.stderr.splitlines()
    assert "EEXIST" not in run.stderr
