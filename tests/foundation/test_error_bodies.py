"""Mistakes in a request become a 4xx in Chinese, on both databases, never a 500; a fault of
ours is a Chinese 500 that keeps the connection open."""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.api.errors import MAX_URL_BYTES
from shuzhi.config import Settings
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.jobs.helpers import user_with_key

# Library wording that must never reach a caller.
ENGLISH = ("There was an error", "Input should", "JSON decode", "Value error", "Traceback")


def test_bad_numbers_and_dangling_references_are_the_callers_mistake(
    settings: Settings, db: Database
) -> None:
    key, _ = user_with_key(db, "root", Role.SYSTEM_ADMIN)
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    auth = {"Authorization": f"Bearer {key}"}

    dangling = client.post("/api/kb", json={"name": "x", "department_id": 9999}, headers=auth)
    huge = client.post("/api/kb", json={"name": "y", "department_id": 10**30}, headers=auth)
    missing = client.post("/api/kb", json={}, headers=auth)

    assert dangling.status_code == 409 and "department_id" in dangling.json()["error"]["message"]
    assert huge.status_code == 422 and "超出范围" in huge.json()["error"]["message"]
    assert missing.status_code == 422
    assert missing.json()["error"]["detail"] == [{"field": "name", "problem": "必填，缺少此项"}]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (
            b'{"name": ',
            "application/json",
            422,
            "请求体: 不是有效的 JSON，第 1 行第 10 列：此处缺少值",
        ),
        (b'{"name": "a",}', "application/json", 422, "第 1 行第 14 列：最后一项后面多了一个逗号"),
        (b'{"name": "\xff"}', "application/json", 400, "请求体不是 UTF-8 编码的文字"),
        (b'{"name": "\\ud800"}', "application/json", 422, "name: 含无法识别的字符（孤立的代理码位"),
        (b"[1, 2]", "application/json", 422, "请求体: 应为对象（键值映射）"),
        (b'{"name": "a"}', "text/plain", 422, "请求体: 应为对象（键值映射）"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_in_chinese_saying_what_to_fix(
    settings: Settings, db: Database, body: bytes, content_type: str, status: int, says: str
) -> None:
    key, _ = user_with_key(db, "root", Role.SYSTEM_ADMIN)
    client = TestClient(create_app(settings, db))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}

    response = client.post("/api/kb", content=body, headers=headers)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and says in error["message"], error
    assert not any(words in response.text for words in ENGLISH), response.text
    if content_type != "application/json":
        assert "Content-Type: application/json" in error["hint"]


def test_an_overlong_address_is_a_chinese_414_before_any_route_runs(
    settings: Settings, db: Database
) -> None:
    client = TestClient(create_app(settings, db))
    query = "q=" + "办" * 1000  # 9 KB percent-encoded: a long question still gets through

    fits = client.get(f"/api/kb/x/search?{query}")
    too_long = client.get("/api/kb?q=" + "a" * MAX_URL_BYTES)

    assert fits.status_code == 401  # reached the route, which asks who is calling
    assert too_long.status_code == 414
    error = too_long.json()["error"]
    assert error["code"] == "uri_too_long" and "请求地址过长" in error["message"]
    assert f"上限 {MAX_URL_BYTES // 1024} KB" in error["message"]


@pytest.mark.parametrize("query", ["q=%FF%FE", "q=%ED%A0%80", "q=%E5%A4"])
def test_a_query_string_that_is_not_utf8_is_a_chinese_400(
    settings: Settings, db: Database, query: str
) -> None:
    client = TestClient(create_app(settings, db))

    refused = client.get(f"/api/kb/x/search?{query}")
    fine = client.get("/api/kb/x/search?q=%E5%A4%B1%E4%B8%9A+%E9%87%91")  # 失业 金

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bad_encoding" and "UTF-8" in refused.text
    assert fine.status_code == 401  # reached the route, which asks who is calling


def test_a_wrong_method_names_the_methods_the_address_takes(
    settings: Settings, db: Database
) -> None:
    response = TestClient(create_app(settings, db)).delete("/health")

    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json()["error"]["message"] == "此地址不接受 DELETE 请求，可用：GET"


@contextmanager
def _serving(app: FastAPI) -> Iterator[int]:
    """``app`` under a real uvicorn on a free port (the test client has no connections)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_an_unexpected_error_is_a_chinese_500_and_the_connection_stays_open(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, db)

    def broken() -> None:
        raise RuntimeError("SELECT id_number FROM citizens")

    app.add_api_route("/test/broken", broken)

    with _serving(app) as port, caplog.at_level(logging.INFO):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.auto_open = False  # a second request must use the same connection
        connection.connect()
        connection.request("GET", "/test/broken")
        failed = connection.getresponse()
        failed_body = failed.read().decode("utf-8")
        connection.request("GET", "/health")
        after = connection.getresponse()
        after.read()
        connection.close()

    assert failed.status == 500 and after.status == 200
    assert "服务器内部错误，请联系运维人员（参考编号 " in failed_body
    assert "SELECT" not in failed_body and "Traceback" not in failed_body
    logged = [r for r in caplog.records if r.name == "shuzhi.api.errors"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert logged[0].getMessage().split()[2] in failed_body  # the reference the caller quotes
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]
