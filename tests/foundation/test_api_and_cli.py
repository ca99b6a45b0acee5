from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.bootstrap import bootstrap
from shuzhi.platform.identity import verify_password
from shuzhi.storage.db import Database
from shuzhi.storage.models import User


def test_health_and_openapi(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["database"] == db.dialect
    assert client.get("/openapi.json").json()["info"]["title"].startswith("shuzhi")


def test_errors_are_structured_json(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db))
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_bootstrap_creates_one_admin_once(db: Database) -> None:
    with db.session() as session:
        first = bootstrap(session)
    assert first is not None and first.username == "admin"
    with db.session() as session:
        assert bootstrap(session) is None
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and verify_password(admin.password_hash, first.password)


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_cli_db_upgrade_and_current(tmp_path: Path) -> None:
    env = {"SHUZHI_DATA_DIR": str(tmp_path), "SHUZHI_CONFIG": str(tmp_path / "none.toml")}
    env.pop("SHUZHI_DATABASE_URL", None)
    result = _run_cli("db", "upgrade", env={**env, "SHUZHI_DATABASE_URL": ""})
    assert result.returncode == 0, result.stderr
    current = _run_cli("db", "current", env={**env, "SHUZHI_DATABASE_URL": ""})
    lines = dict(line.split("：", 1) for line in current.stdout.splitlines() if "：" in line)
    assert lines["当前版本"] == lines["最新版本"], current.stdout


def test_cli_reports_unreachable_database_without_traceback(tmp_path: Path) -> None:
    result = _run_cli(
        "db", "upgrade", env={"SHUZHI_DATABASE_URL": "postgresql+psycopg://x:pw@127.0.0.1:1/db"}
    )
    assert result.returncode == 1
    assert "SHUZHI_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(settings: Settings, db: Database, page: str) -> None:
    client = TestClient(create_app(settings, db))
    response = client.get(page)
    assert response.status_code == 200

    urls = _asset_urls(response.text)
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from outside the server"
        assert client.get(url).status_code == 200, url
