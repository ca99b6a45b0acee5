from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.config import load_settings
from shuzhi.errors import ConfigError, StorageUnavailable
from shuzhi.storage.db import Database


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


def test_unreachable_database_fails_with_one_clear_line() -> None:
    db = Database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable) as err:
        db.check_connection()
    message = str(err.value)
    assert "SHUZHI_DATABASE_URL" in message
    assert "secret" not in message, "the password must never be shown"
    assert "\n" not in message
