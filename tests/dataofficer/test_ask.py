"""Questions over data: templates, the SQL guard, limits, and masked views."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shuzhi.dataofficer.ask import (
    SqlTemplate,
    TableView,
    answer,
    bind,
    match_template,
    run_select,
)
from shuzhi.dataofficer.engine import lock_down
from shuzhi.dataofficer.guard import check_select
from shuzhi.dataofficer.sources import load_file
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv


@pytest.fixture
def people(tmp_path: Path) -> dict[str, TableView]:
    csv_path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "gbk")
    loaded = load_file(csv_path, tmp_path / "data" / "people.parquet")
    return {"people": TableView(loaded.parquet, columns=loaded.columns)}


TEMPLATES = [
    SqlTemplate("居民一共有多少人", "SELECT count(*) AS 人数 FROM people", 1, True),
    SqlTemplate(
        "住在{区}的居民有哪些",
        "SELECT 姓名, 家庭住址 FROM people WHERE 家庭住址 LIKE '%' || :区 || '%'",
        2,
        True,
    ),
    SqlTemplate("删除所有居民", "DELETE FROM people", 3, False),
]


@pytest.mark.parametrize(
    ("sql", "error", "words"),
    [
        ("DELETE FROM people", PermissionDenied, "DELETE"),
        ("SELECT 1; DROP TABLE people", InvalidInput, "一条"),
        ("UPDATE people SET 姓名 = 'x'", PermissionDenied, "UPDATE"),
        ("SELECT * FROM salaries", PermissionDenied, "salaries"),
        ("SELECT * FROM read_csv('/etc/passwd')", PermissionDenied, "read_csv"),
        ("SELECT * FROM '/etc/passwd'", PermissionDenied, "/etc/passwd"),
        ("SELECT read_text('/etc/shadow')", PermissionDenied, "read_text"),
        ("SELECT * FROM glob('/*')", PermissionDenied, "glob"),
        ("SELECT * FROM main.people", PermissionDenied, "库名"),
        ("ATTACH '/tmp/x.db' AS x", PermissionDenied, "ATTACH"),
        ("COPY people TO '/tmp/leak.csv'", PermissionDenied, "COPY"),
        ("PRAGMA database_list", PermissionDenied, "PRAGMA"),
        ("SET threads = 64", PermissionDenied, "SET"),
        ("INSTALL httpfs", InvalidInput, "SELECT"),
        ("SELECT current_setting('allowed_directories')", PermissionDenied, "current_setting"),
        ("CREATE TABLE x AS SELECT * FROM people", PermissionDenied, "CREATE"),
    ],
)
def test_injection_attempts_are_refused_with_a_clear_message(
    sql: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        check_select(sql, ["people"])
    assert words in str(caught.value)


def test_plain_selects_unions_and_ctes_pass() -> None:
    for sql in (
        "SELECT 姓名 FROM people WHERE 备注 = '无'",
        "WITH a AS (SELECT * FROM people) SELECT count(*) FROM a",
        "SELECT 姓名 FROM people UNION ALL SELECT 姓名 FROM people",
    ):
        check_select(sql, ["people"])


def test_locked_down_duckdb_refuses_files_even_without_the_guard(
    people: dict[str, TableView],
) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW people AS SELECT * FROM read_parquet('{people['people'].path}')")
    lock_down(con, [people["people"].path])
    assert con.execute("SELECT count(*) FROM people").fetchone() == (4,)
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")


def test_template_with_a_slot_answers_and_binds_the_value_safely(
    people: dict[str, TableView],
) -> None:
    allowed = people["people"].path.parent
    result = answer("住在历下区的居民有哪些？", people, TEMPLATES, allowed_dir=allowed)
    assert result.mode == "offline" and result.template_id == 2
    assert result.rows == [["张三", "山东省济南市历下区经十路1号"]]
    assert "'历下区'" in result.sql

    hostile = answer("住在x' OR 1=1 --的居民有哪些", people, TEMPLATES, allowed_dir=allowed)
    assert hostile.rows == []  # the quote stays inside the literal


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("住在A3区的居民有哪些", "A3区"),  # was bound as 'a3区' and matched nothing
        ("住在 A3区 的居民有哪些？", "A3区"),
        ("住在11010519491231002X的居民有哪些", "11010519491231002X"),
        ("住在10:30路的居民有哪些", "10:30路"),  # punctuation inside a value stays
    ],
)
def test_a_slot_takes_the_value_as_typed(question: str, value: str) -> None:
    found = match_template(question, TEMPLATES)
    assert found is not None and found[0].id == 2
    assert found[1] == {"区": value}


def test_similar_wording_matches_an_approved_template_only() -> None:
    found = match_template("一共有多少居民人", TEMPLATES)
    assert found is not None and found[0].id == 1
    assert match_template("删除所有居民", TEMPLATES) is None  # never approved
    assert match_template("今天天气怎么样", TEMPLATES) is None


def test_no_template_and_no_model_says_what_to_do(people: dict[str, TableView]) -> None:
    with pytest.raises(NotFound, match="模板"):
        answer("谁的电话最长", people, TEMPLATES, allowed_dir=people["people"].path.parent)


def test_model_drafted_sql_is_checked_too(people: dict[str, TableView]) -> None:
    class Drafter:
        model = "scripted"

        def __init__(self, sql: str) -> None:
            self.sql = sql
            self.schema = ""

        def draft(self, question: str, schema: str) -> str:
            self.schema = schema
            return self.sql

    allowed = people["people"].path.parent
    good = Drafter("SELECT count(*) FROM people WHERE 联系电话 IS NULL")
    result = answer("没有电话的有几人", people, [], allowed_dir=allowed, drafter=good)
    assert result.rows == [[1]] and result.mode == "model" and result.model == "scripted"
    assert "联系电话" in good.schema and "13812345678" not in good.schema

    with pytest.raises(PermissionDenied):
        answer("清空", people, [], allowed_dir=allowed, drafter=Drafter("DELETE FROM people"))


def test_row_limit_and_timeout(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT range AS i FROM range(200000)) TO '{numbers}' (FORMAT parquet)")
    views = {"numbers": TableView(numbers, columns=["i"])}

    columns, rows, truncated = run_select("SELECT i FROM numbers", views, tmp_path, max_rows=100)
    assert len(rows) == 100 and truncated and columns == ["i"]

    slow = "SELECT count(*) FROM numbers a, numbers b WHERE (a.i * 7 + b.i) % 1000003 = 17"
    with pytest.raises(InvalidInput, match="超过"):
        run_select(slow, views, tmp_path, timeout=0.3)

    with pytest.raises(PermissionDenied, match="函数"):
        run_select("SELECT * FROM range(10)", views, tmp_path)


def test_masked_and_hidden_columns_in_views(people: dict[str, TableView]) -> None:
    view = people["people"]
    masked = {
        "people": TableView(
            view.path,
            masked={"身份证号": "id_number", "联系电话": "phone"},
            hidden=["备注"],
            columns=view.columns,
        )
    }
    _, rows, _ = run_select("SELECT 身份证号, 联系电话, 备注 FROM people", masked, view.path.parent)
    assert rows[0][0] == PEOPLE_ROWS[0][1][:6] + "********" + PEOPLE_ROWS[0][1][-4:]
    assert rows[0][1] == "138****5678"
    assert rows[0][2] == "（无权查看）"


def test_bind_rejects_an_unknown_slot() -> None:
    with pytest.raises(InvalidInput):
        bind("SELECT * FROM people WHERE 姓名 = :名字", {})
