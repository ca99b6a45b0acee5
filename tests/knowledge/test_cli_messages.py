"""What `shuzhi kb` prints is Chinese: grade names, and why a file could not be imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import run_cli


@pytest.fixture(autouse=True)
def _on_this_database(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_grades_are_shown_by_name_with_the_code_create_takes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run_cli(monkeypatch, capsys, "kb", "create", "政策库", "--grade", "restricted")
    listed = run_cli(monkeypatch, capsys, "kb", "list")

    assert created.returncode == 0, created.stderr
    assert "密级：受限（restricted）" in created.stdout
    assert "受限（restricted）" in listed.stdout
    assert "│ restricted" not in listed.stdout


def test_a_missing_file_is_reported_as_missing_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(monkeypatch, capsys, "kb", "create", "政策库")

    run = run_cli(monkeypatch, capsys, "kb", "import", "政策库", str(tmp_path / "没有这个.md"))

    assert run.returncode == 1
    assert "无法读取文件：没有这个.md（文件不存在）" in run.stdout
    assert "No such file" not in run.stdout + run.stderr


def test_a_missing_question_file_is_reported_as_missing_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(monkeypatch, capsys, "kb", "create", "政策库")
    questions = tmp_path / "questions.yaml"

    run = run_cli(monkeypatch, capsys, "kb", "evaluate", "政策库", str(questions))

    assert run.returncode == 2
    assert f"评测问题文件无法读取：{questions}（文件不存在）" in run.stderr
    assert "Errno" not in run.stderr
