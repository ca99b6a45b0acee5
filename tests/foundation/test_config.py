from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shuzhi.config import Settings, load_settings
from shuzhi.errors import ConfigError, StorageUnavailable
from shuzhi.storage.db import Database
from shuzhi.storage.setup import open_database


def test_defaults_use_sqlite_in_the_data_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHUZHI_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "absent.toml"))
    s = load_settings()
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'shuzhi.db'}"
    assert s.is_embedded_database


def test_toml_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "shuzhi.toml"
    cfg.write_text('port = 9100\nplace = "青岛市"\n', encoding="utf-8")
    monkeypatch.setenv("SHUZHI_CONFIG", str(cfg))
    monkeypatch.setenv("SHUZHI_PORT", "9200")
    s = load_settings()
    assert s.place == "青岛市"
    assert s.port == 9200


def test_malformed_database_url_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "not a url at all")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "SHUZHI_DATABASE_URL" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SHUZHI_PORT", "abc", "SHUZHI_PORT 应为整数"),
        ("SHUZHI_CONVERSATION_KEEP_DAYS", "-1", "SHUZHI_CONVERSATION_KEEP_DAYS 应不小于 0"),
        ("SHUZHI_UPLOAD_KEEP_DAYS", "1e9", "SHUZHI_UPLOAD_KEEP_DAYS 应为整数"),
    ],
)
def test_a_bad_setting_is_named_with_its_problem_in_chinese(
    name: str, value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert problem in str(err.value) and "Input should" not in str(err.value)


def test_unreachable_database_fails_with_one_clear_line() -> None:
    db = Database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable) as err:
        db.check_connection()
    message = str(err.value)
    assert "SHUZHI_DATABASE_URL" in message
    assert "secret" not in message, "the password must never be shown"
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://clerk@db/shuzhi", "不支持的数据库 'mysql'"),
        ("postgresql+psycopg://u:pw@host:port/x", "无法解析"),
    ],
)
def test_unusable_database_urls_are_refused_with_the_setting_named(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHUZHI_DATABASE_URL", url)
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "SHUZHI_DATABASE_URL" in message and expected in message
    assert ":pw@" not in message, "the password must never be shown"
    assert "Value error" not in message


def test_an_unusable_default_data_directory_names_shuzhi_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    settings = Settings(data_dir=blocker / "data")
    with pytest.raises(ConfigError) as err:
        open_database(settings)
    assert "SHUZHI_DATA_DIR" in str(err.value)


@pytest.mark.parametrize(
    ("url", "exit_code"),
    [
        ("postgresql+psycopg://nobody:secret@127.0.0.1:1/x", 1),
        ("not a url at all", 2),
    ],
)
def test_serve_fails_at_start_with_one_line_naming_the_setting(
    url: str, exit_code: int, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SHUZHI_DATABASE_URL": url,
        "SHUZHI_DATA_DIR": str(tmp_path),
        "SHUZHI_CONFIG": str(tmp_path / "absent.toml"),
        "COLUMNS": "60",  # a narrow terminal must not wrap the line
    }
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "serve", "--port", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == exit_code, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("错误：") and "SHUZHI_DATABASE_URL" in lines[0]
    assert "secret" not in lines[0]


def test_a_redis_url_without_a_redis_scheme_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHUZHI_REDIS_URL", "127.0.0.1:6379")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "SHUZHI_REDIS_URL" in str(err.value) and "redis://" in str(err.value)


def test_a_new_data_directory_is_private_to_its_owner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The data directory holds the embedded database and citizens' uploads in clear: a new
    one is created 0700 (it was 0755, so every local account could read the uploads)."""
    fresh = tmp_path / "new" / "shuzhi"
    open_database(Settings(data_dir=fresh)).engine.dispose()
    assert fresh.stat().st_mode & 0o777 == 0o700

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    open_database(Settings(data_dir=shared)).engine.dispose()
    assert shared.stat().st_mode & 0o777 == 0o755  # the operator's own choice is kept ...
    assert "open to other local users" in caplog.text  # ... and named in the log
