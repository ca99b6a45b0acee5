from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


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
