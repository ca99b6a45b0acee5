"""A deployment's own column names (hotline_headers.yaml), tried before the shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi import jobs
from shuzhi.config import Settings
from shuzhi.errors import ConfigError, InvalidInput
from shuzhi.platform.roles import Role
from shuzhi.scenarios.hotline.importing import default_headers, headers_for, import_file
from shuzhi.storage.db import Database
from tests.apiclient import api_client
from tests.clirun import run_cli

EXPORT = (
    "编号,市民诉求,诉求类别\n1,小区路灯坏了三天没人修,城乡建设\n2,孩子学校门口乱停车,交通运输\n"
)


def test_without_a_file_the_shipped_names_are_used(tmp_path: Path) -> None:
    assert headers_for(Settings(data_dir=tmp_path)) == default_headers()
    assert headers_for(None) == default_headers()


def test_the_local_names_come_first_and_the_shipped_ones_stay(tmp_path: Path) -> None:
    (tmp_path / "hotline_headers.yaml").write_text(
        "text: [市民诉求]\nlabel: 诉求类别\n", encoding="utf-8"
    )
    headers = headers_for(Settings(data_dir=tmp_path))

    assert headers["text"][0] == "市民诉求" and "留言详情" in headers["text"]
    assert headers["label"][0] == "诉求类别" and headers["title"] == default_headers()["title"]

    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"hotline_headers\.yaml"):
        import_file(export)  # the shipped names alone do not know 市民诉求; the hint says where
    messages = import_file(export, headers).messages
    assert messages[0].text == "小区路灯坏了三天没人修"
    assert [m.label for m in messages] == ["城乡建设", "交通运输"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("txet: [市民诉求]\n", "没有“txet”这个字段"),
        ("text: [[市民诉求]]\n", "“text”后应是方括号中的列名"),
        ("- text\n", "整个文件应是"),
        ("text: [市民诉求\n", "第 2 行"),
    ],
)
def test_a_bad_local_file_is_named_with_what_to_fix(
    tmp_path: Path, content: str, said: str
) -> None:
    local = tmp_path / "own.yaml"
    local.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        headers_for(Settings(data_dir=tmp_path, hotline_headers=local))
    assert str(local) in refused.value.message and said in refused.value.message


def test_the_batch_command_reads_an_export_with_the_local_names(
    tmp_path: Path,
    sample_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hotline_headers.yaml").write_text("text: [市民诉求]\n", encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(data))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    history, _ = sample_files

    run = run_cli(
        monkeypatch, capsys, "hotline", "run", str(export), "--history", str(history),
        "--out", str(tmp_path / "out"), "--no-store",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "workorders.jsonl").read_text("utf-8").count("\n") == 2


def test_an_upload_with_the_local_names_is_accepted_and_run(
    settings: Settings, db: Database, sample_files: tuple[Path, Path]
) -> None:
    history, _ = sample_files
    client = api_client(settings, db, Role.OPERATOR)
    files = {
        "file": ("export.csv", EXPORT.encode(), "text/csv"),
        "history": ("history.csv", history.read_bytes(), "text/csv"),
    }

    refused = client.post("/api/hotline/batches", files=files)
    assert refused.status_code == 422 and "hotline_headers.yaml" in refused.text

    (settings.data_dir / "hotline_headers.yaml").write_text("text: [市民诉求]\n", "utf-8")
    started = client.post("/api/hotline/batches", files=files)
    assert started.status_code == 202, started.text
    job = jobs.resume_inline(db, started.json()["job_id"], settings=settings)
    assert job.status == "succeeded" and job.result is not None, job.error
    assert job.result["messages"] == 2
