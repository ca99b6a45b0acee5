"""Regression tests for the security defects a tester found in the data officer (issue 9).

Each test is the tester's repro, run on both storage backends through the real API.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.dataofficer import ask as asking
from shuzhi.dataofficer import service
from shuzhi.dataofficer.guard import check_select
from shuzhi.errors import InvalidInput, PermissionDenied
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv
from tests.platform.helpers import department, user

PLATFORM_TABLES = ("work_orders", "users", "api_keys", "login_sessions", "audit_log")


class Site:
    """An API client with one key per (role, department) and two departments."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.client = TestClient(create_app(settings, db))
        self.keys: dict[str, str] = {}
        with db.session() as session:
            self.d5 = department(session, "d5", "民政局").id
            self.d6 = department(session, "d6", "人社局").id
            accounts = {
                "op6": [(Role.OPERATOR, self.d6)],
                "admin5": [(Role.DEPARTMENT_ADMIN, self.d5)],
                "admin6": [(Role.DEPARTMENT_ADMIN, self.d6)],
                "viewer5": [(Role.VIEWER, self.d5)],
                "op56": [(Role.OPERATOR, self.d5), (Role.OPERATOR, self.d6)],
                "sysadmin": [(Role.SYSTEM_ADMIN, None)],
            }
            for name, roles in accounts.items():
                account = user(session, name, *roles)
                self.keys[name] = create_api_key(session, name, account.id)[1]

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def upload(self, who: str, path: Path, **data: str) -> object:
        with path.open("rb") as fh:
            return self.client.post(
                "/api/data/datasets",
                headers=self.h(who),
                files={"file": (path.name, fh, "text/csv")},
                data=data,
            )


@pytest.fixture
def site(settings: Settings, db: Database) -> Site:
    return Site(settings, db)


@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "utf-8")


def _sqlite_source(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (title TEXT, body TEXT)")
        con.executemany("INSERT INTO notes VALUES (?, ?)", rows)
    return path


# ---------------------------------------------------------------- 1. the platform's own database


def test_operator_cannot_register_from_a_database(site: Site, settings: Settings) -> None:
    body = {
        "url": settings.effective_database_url,
        "table": "work_orders",
        "department_id": site.d6,
    }
    response = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("op6"), json=body
    )
    assert response.status_code == 403, response.text
    listed = site.client.get("/api/data/datasets", headers=site.h("sysadmin")).json()
    assert listed == []


@pytest.mark.parametrize("table", PLATFORM_TABLES)
def test_nobody_registers_the_platform_database(site: Site, settings: Settings, table: str) -> None:
    # Even with the platform database on the allow-list, it stays refused.
    own = settings.effective_database_url
    settings.data_sources = [own, str(settings.data_dir)]
    body = {"url": own, "table": table}
    response = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("sysadmin"), json=body
    )
    assert response.status_code == 403, response.text
    assert "平台自身" in response.json()["error"]["message"]
    rows = site.client.get(f"/api/data/datasets/{table}/rows", headers=site.h("sysadmin"))
    assert rows.status_code == 404


def test_platform_database_refused_under_another_spelling(settings: Settings, db: Database) -> None:
    own = settings.effective_database_url
    if own.startswith("sqlite"):
        path = Path(own.removeprefix("sqlite:///"))
        other = f"sqlite:///{path.parent}/./../{path.parent.name}/{path.name}"
    else:
        other = own.replace("127.0.0.1", "localhost").replace("@localhost/", "@localhost:5432/")
    settings.data_sources = [other, own]
    with db.session() as session, pytest.raises(PermissionDenied, match="平台自身"):
        service.register_database(session, settings, other, "users")


def test_database_sources_follow_the_allow_list(site: Site, settings: Settings) -> None:
    outside = _sqlite_source(settings.data_dir.parent / "elsewhere" / "src.db", [("a", "b")])
    body = {"url": f"sqlite:///{outside}", "table": "notes", "department_id": site.d6}
    refused = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("admin6"), json=body
    )
    assert refused.status_code == 403, refused.text
    assert "SHUZHI_DATA_SOURCES" in refused.json()["error"]["hint"]

    inside = _sqlite_source(settings.data_dir / "imports" / "src.db", [("a", "b")])
    body["url"] = f"sqlite:///{inside}"
    allowed = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("admin6"), json=body
    )
    assert allowed.status_code == 201, allowed.text

    settings.data_sources = [str(outside.parent)]
    body |= {"url": f"sqlite:///{outside}", "name": "notes_elsewhere"}
    listed = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("admin6"), json=body
    )
    assert listed.status_code == 201, listed.text


def test_a_url_that_does_not_parse_is_a_422(site: Site) -> None:
    body = {"url": "not a url", "table": "x"}
    response = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("sysadmin"), json=body
    )
    assert response.status_code == 422, response.text
    assert "连接串" in response.json()["error"]["message"]


def test_cli_register_db_with_a_bad_url_prints_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(tmp_path / "home"),
        "SHUZHI_CONFIG": str(tmp_path / "none.toml"),
        "SHUZHI_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "data", "register-db", "not a url", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "连接串" in done.stderr


# ---------------------------------------------------------------- 2. CTE scope in the SQL guard


def _scope_attack(path: Path) -> str:
    return f'SELECT b.* FROM (WITH "{path}" AS (SELECT 1) SELECT 1) a, "{path}" b'


def test_guard_resolves_cte_names_per_scope(tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        check_select(_scope_attack(tmp_path / "datasets" / "x.parquet"), ["people"])
    with pytest.raises(PermissionDenied):
        check_select(
            "SELECT (SELECT count(*) FROM c) FROM people, (WITH c AS (SELECT 1) SELECT * FROM c) d",
            ["people"],
        )
    # CTEs used where they are visible stay allowed.
    check_select(
        "WITH c AS (SELECT * FROM people), d AS (SELECT * FROM c) "
        "SELECT * FROM d WHERE 1 IN (SELECT 1 FROM c)",
        ["people"],
    )
    check_select(
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT * FROM r, people",
        ["people"],
    )


@pytest.mark.parametrize(
    "name", ['"/etc/passwd"', '"a\\b"', '"x.parquet"', '"x.CSV"', '"x.json"', '"shuzhi.db"']
)
def test_guard_refuses_path_like_identifiers(name: str) -> None:
    with pytest.raises(PermissionDenied, match="路径"):
        check_select(f"WITH {name} AS (SELECT 1) SELECT * FROM {name}", ["people"])


def test_scope_attack_reads_no_other_department(
    site: Site, settings: Settings, people_csv: Path
) -> None:
    assert (
        site.upload("admin5", people_csv, name="people", department_id=str(site.d5)).status_code
        == 201
    )
    other = write_csv(people_csv.with_name("mine.csv"), ["x"], [["1"]], "utf-8")
    assert site.upload("op6", other, name="mine", department_id=str(site.d6)).status_code == 201
    target = service.datasets_dir(settings) / "people.parquet"
    body = {"question": "偷看", "sql": _scope_attack(target)}
    refused = site.client.post("/api/data/templates", headers=site.h("op6"), json=body)
    assert refused.status_code == 403, refused.text


def test_duckdb_sees_only_the_permitted_files(
    settings: Settings, db: Database, people_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second wall: with the SQL check switched off, another dataset's file is unreadable."""
    with db.session() as session:
        service.register_file(session, settings, people_csv, name="people")
        other = write_csv(people_csv.with_name("mine.csv"), ["x"], [["1"]], "utf-8")
        mine = service.register_file(session, settings, other, name="mine")
        views = {"mine": service.view_of(session, mine, service.Grade.GENERAL)}
    monkeypatch.setattr(asking, "check_select", lambda sql, allowed: None)
    target = service.datasets_dir(settings) / "people.parquet"
    assert asking.run_select("SELECT * FROM mine", views, service.datasets_dir(settings))[1]
    with pytest.raises(InvalidInput, match=r"Permission|权限|disabled"):
        asking.run_select(f'SELECT * FROM "{target}"', views, service.datasets_dir(settings))


def test_cli_template_add_refuses_the_scope_attack(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(tmp_path / "home"),
        "SHUZHI_CONFIG": str(tmp_path / "none.toml"),
        "SHUZHI_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    sql = _scope_attack(tmp_path / "home" / "datasets" / "x.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "data", "template", "add", "偷看", sql],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- 3. replacing across departments


def test_replace_cannot_take_another_departments_dataset(
    site: Site, people_csv: Path, tmp_path: Path
) -> None:
    created = site.upload("admin5", people_csv, name="people", department_id=str(site.d5))
    assert created.status_code == 201, created.text
    junk = write_csv(tmp_path / "junk.csv", ["x"], [["1"]], "utf-8")

    stolen = site.upload("admin6", junk, name="people", department_id=str(site.d6), replace="true")
    assert stolen.status_code == 403, stolen.text
    moved = site.upload("admin5", junk, name="people", department_id=str(site.d6), replace="true")
    assert moved.status_code == 403, moved.text

    kept = site.client.get("/api/data/datasets/people", headers=site.h("sysadmin")).json()
    assert kept["dataset"]["department_id"] == site.d5
    assert kept["dataset"]["row_count"] == len(PEOPLE_ROWS)

    own = site.upload("admin5", junk, name="people", replace="true")
    assert own.status_code == 201, own.text
    assert own.json()["department_id"] == site.d5 and own.json()["row_count"] == 1


# ---------------------------------------------------------------- 4. masked from registration on


def test_rows_are_masked_before_any_profile(site: Site, people_csv: Path) -> None:
    created = site.upload("admin5", people_csv, name="people", department_id=str(site.d5))
    assert created.status_code == 201, created.text
    before = site.client.get("/api/data/datasets/people/rows", headers=site.h("viewer5")).json()
    ids = [row[before["columns"].index("身份证号")] for row in before["rows"]]
    phones = [row[before["columns"].index("联系电话")] for row in before["rows"]]
    assert not {r[1] for r in PEOPLE_ROWS} & set(ids)
    assert "13812345678" not in phones

    site.client.post("/api/data/datasets/people/profile", headers=site.h("admin5"))
    after = site.client.get("/api/data/datasets/people/rows", headers=site.h("viewer5")).json()
    assert after == before


# ---------------------------------------------------------------- 5. no department


def test_department_user_cannot_create_a_global_dataset(site: Site, people_csv: Path) -> None:
    single = site.upload("op6", people_csv, name="people")
    assert single.status_code == 201, single.text
    assert single.json()["department_id"] == site.d6

    several = site.upload("op56", people_csv, name="people_two")
    assert several.status_code == 422, several.text
    assert "部门" in several.json()["error"]["message"]

    unowned = site.upload("sysadmin", people_csv, name="people_all")
    assert unowned.status_code == 201 and unowned.json()["department_id"] is None


# ---------------------------------------------------------------- 6. mixed encodings


def test_mixed_encoding_file_is_refused(settings: Settings, db: Database, tmp_path: Path) -> None:
    # The tester's file: UTF-8 rows that GB18030 also decodes (into garbage), one GBK row.
    lines = ["姓名,地址"] + [f"用户{i},山东省济南市" for i in range(50)]
    data = ("\n".join(lines) + "\n").encode("utf-8") + "王五,槐荫区经七路\n".encode("gbk")
    assert data.decode("gb18030")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    with db.session() as session, pytest.raises(InvalidInput, match="编码") as refused:
        service.register_file(session, settings, path)
    assert "第 52 行" in refused.value.message
    undecodable = tmp_path / "mixed2.csv"
    undecodable.write_bytes("号码,历下区\n".encode() + "王五,槐荫区\n".encode("gbk"))
    with db.session() as session, pytest.raises(InvalidInput, match="混用"):
        service.register_file(session, settings, undecodable)
    gbk_only = tmp_path / "gbk.csv"
    gbk_only.write_bytes("姓名,地址\n王五,槐荫区经七路\n".encode("gbk"))
    with db.session() as session:
        assert service.register_file(session, settings, gbk_only).encoding == "gb18030"


# ---------------------------------------------------------------- 7. multi-line database text


def test_database_table_with_multiline_text(site: Site, settings: Settings, db: Database) -> None:
    # Many one-line rows first, so that a CSV sniffer would settle on a dialect without quotes.
    body_text = '第一行\n第二行，含"引号",和逗号\r\n\n第四行'
    plain = [(f"标题{i}", f"普通文本{i}") for i in range(30_000)]
    source = _sqlite_source(
        settings.data_dir / "imports" / "notes.db", [*plain, ("标题", body_text), ("空", "")]
    )
    body = {"url": f"sqlite:///{source}", "table": "notes", "department_id": site.d5}
    created = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("admin5"), json=body
    )
    assert created.status_code == 201, created.text
    assert created.json()["row_count"] == 30_002
    with db.session() as session:
        stored = Path(service.get_dataset(session, "notes").storage_path)
    con = duckdb.connect()
    found = con.execute(
        f"SELECT body FROM read_parquet('{stored}') WHERE title = '标题'"
    ).fetchall()
    assert found == [(body_text,)]


# ---------------------------------------------------------------- 8. no server paths


def test_source_ref_shows_no_server_path(site: Site, settings: Settings, people_csv: Path) -> None:
    uploaded = site.upload("admin5", people_csv, name="people", department_id=str(site.d5))
    assert uploaded.json()["source_ref"] == "people.csv"
    source = _sqlite_source(settings.data_dir / "imports" / "src.db", [("a", "b")])
    body = {"url": f"sqlite:///{source}", "table": "notes", "department_id": site.d5}
    created = site.client.post(
        "/api/data/datasets/from-database", headers=site.h("admin5"), json=body
    )
    assert created.json()["source_ref"] == "src.db#notes"
    for d in site.client.get("/api/data/datasets", headers=site.h("admin5")).json():
        assert str(settings.data_dir) not in d["source_ref"] and "/" not in d["source_ref"]
    shown = site.client.get("/api/data/datasets/notes", headers=site.h("admin5")).json()
    assert str(source) not in str(shown)
