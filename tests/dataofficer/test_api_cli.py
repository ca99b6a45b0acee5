"""The data officer over HTTP and from the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.dataofficer.synthetic import write_population_csv
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.clirun import run_cli
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv
from tests.platform.helpers import department, user


def _keys(db: Database) -> tuple[dict[str, str], int]:
    with db.session() as session:
        dept = department(session, "civil", "民政局")
        keys = {}
        for name, role in (("operator", Role.OPERATOR), ("officer", Role.REVIEWER)):
            account = user(session, name, (role, dept.id))
            keys[name] = create_api_key(session, name, account.id)[1]
        return keys, dept.id


def test_http_flow_from_upload_to_answer(settings: Settings, db: Database, tmp_path: Path) -> None:
    keys, dept_id = _keys(db)
    client = TestClient(create_app(settings, db))
    op = {"Authorization": f"Bearer {keys['operator']}"}
    officer = {"Authorization": f"Bearer {keys['officer']}"}
    csv_path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "gbk")

    with csv_path.open("rb") as fh:
        created = client.post(
            "/api/data/datasets",
            headers=op,
            files={"file": ("低保名册.csv", fh, "text/csv")},
            data={"name": "people", "title": "低保名册", "department_id": str(dept_id)},
        )
    assert created.status_code == 201, created.text
    assert created.json()["encoding"] == "gb18030" and created.json()["row_count"] == 4

    profiled = client.post("/api/data/datasets/people/profile", headers=op)
    assert profiled.status_code == 200, profiled.text
    fields = client.get("/api/data/datasets/people", headers=op).json()["fields"]
    assert {f["name"]: f["kind"] for f in fields}["身份证号"] == "id_number"

    denied = client.post("/api/data/datasets/people/grades/confirm", headers=op, json={})
    assert denied.status_code == 403
    confirmed = client.post("/api/data/datasets/people/grades/confirm", headers=officer, json={})
    assert confirmed.status_code == 200, confirmed.text
    assert all(f["confirmed_by_name"] == "officer" for f in confirmed.json())

    run = client.post("/api/data/datasets/people/quality", headers=op).json()
    failing = {(r["rule"]["kind"], r["rule"]["column"]): r["failing"] for r in run["results"]}
    assert failing[("validity", "身份证号")] == 1
    assert len(client.get("/api/data/datasets/people/quality", headers=op).json()) == 1

    catalogue = client.get("/api/data/datasets/people/catalogue", headers=op).json()
    assert catalogue["status"] == "draft" and catalogue["sharing"] == "conditional"

    refused = client.post(
        "/api/data/templates", headers=op, json={"question": "删掉", "sql": "DROP TABLE people"}
    )
    assert refused.status_code == 403 and "DROP" in refused.json()["error"]["message"]
    template = client.post(
        "/api/data/templates",
        headers=op,
        json={
            "question": "有多少人没有电话",
            "sql": "SELECT count(*) AS 人数 FROM people WHERE 联系电话 IS NULL",
        },
    ).json()
    client.post(f"/api/data/templates/{template['id']}/approve", headers=op)
    answer = client.post("/api/data/ask", headers=op, json={"question": "有多少人没有电话？"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [[1]] and answer.json()["mode"] == "offline"
    assert "SELECT" in answer.json()["sql"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "data", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "COLUMNS": "200"},
        timeout=300,
    )


def test_cli_profile_quality_and_ask(tmp_path: Path) -> None:
    env = {
        "SHUZHI_DATA_DIR": str(tmp_path / "home"),
        "SHUZHI_CONFIG": str(tmp_path / "none.toml"),
        "SHUZHI_DATABASE_URL": "",
    }
    csv_path = tmp_path / "register.csv"
    write_population_csv(csv_path, 2_000)

    profiled = _cli("profile", str(csv_path), env=env)
    assert profiled.returncode == 0, profiled.stderr
    assert "身份证号" in profiled.stdout and "重要数据" in profiled.stdout

    checked = _cli("quality", "register", env=env)
    assert checked.returncode == 0, checked.stderr
    lines = [line for line in checked.stdout.splitlines() if "身份证号 符合" in line]
    assert lines and " 40 " in lines[0]  # 2,000 rows, one in fifty with a wrong check digit
    assert "质量得分" in checked.stdout
    first_id = csv_path.read_text(encoding="utf-8").splitlines()[8].split(",")[0]
    assert first_id not in checked.stdout  # failing rows are shown masked

    missing = _cli("ask", "一共多少人", env=env)
    assert missing.returncode == 2 and "模板" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = _cli("template", "add", "删除", "DELETE FROM register", env=env)
    assert bad.returncode == 2 and "DELETE" in bad.stderr


def test_cli_profile_of_a_file_with_a_chinese_name_takes_the_name_the_hint_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "home"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "200")
    csv_path = tmp_path / "2024人口.csv"
    write_population_csv(csv_path, 50)

    refused = run_cli(monkeypatch, capsys, "data", "profile", str(csv_path))
    assert refused.returncode == 2 and "--name" in refused.stderr

    hinted = re.search(r"--name ([a-z][a-z0-9_]*)", refused.stderr)
    assert hinted, refused.stderr
    profiled = run_cli(
        monkeypatch, capsys, "data", "profile", str(csv_path), "--name", hinted.group(1)
    )
    assert profiled.returncode == 0, profiled.stderr
    assert profiled.stdout.startswith(f"{hinted.group(1)}：50 行")
