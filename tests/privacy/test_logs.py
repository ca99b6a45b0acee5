"""No log line carries a citizen's phone number, ID number or bank card in full."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from shuzhi.privacy import logs

PHONE, ID_NUMBER = "13812345678", "11010519491231002X"


@pytest.fixture
def installed() -> Iterator[None]:
    before = logging.getLogRecordFactory()
    logs.install()
    logs.install()  # a second install does not wrap twice
    yield
    logging.setLogRecordFactory(before)


def _formatted(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def test_messages_arguments_and_tracebacks_are_masked(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("shuzhi.test.logs")
    with caplog.at_level(logging.INFO):
        log.info("市民 %s 来电，证件号 %s，第 %d 次", PHONE, ID_NUMBER, 3)
        log.info(f"直接写进消息的号码 {PHONE}")
        log.info("按名称 %(phone)s", {"phone": PHONE})
        try:
            raise ValueError(f"Conversion Error: could not convert '{ID_NUMBER}' in row 7")
        except ValueError:
            log.exception("任务出错")
    text = _formatted(caplog)

    assert PHONE not in text and ID_NUMBER not in text
    assert "138****5678" in text and "第 3 次" in text
    assert "Traceback (most recent call last)" in text and "in row 7" in text
    assert text.count("138****5678") == 3


def test_formatters_that_unpack_arguments_keep_working(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn's access formatter unpacks ``record.args`` into five values."""
    access = logging.getLogger("shuzhi.test.access")  # uvicorn.* may not propagate
    with caplog.at_level(logging.INFO):
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000", "GET", f"/console/workorders?q={PHONE}", "1.1", 200,
        )  # fmt: skip
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and len(record.args) == 5 and record.args[4] == 200
    path = record.args[2]
    assert PHONE not in str(path) and "q=138****5678" in str(path)
    assert record.getMessage().endswith('"GET /console/workorders?q=138****5678 HTTP/1.1" 200')


def test_text_without_personal_data_is_left_alone(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    error = KeyError("kb")
    with caplog.at_level(logging.INFO):
        logging.getLogger("shuzhi.test.logs").info("kb %s import: %s files %s", 3, 120, error)
    record = caplog.records[-1]
    assert record.args == (3, 120, error) and record.getMessage() == "kb 3 import: 120 files 'kb'"


def test_an_address_is_read_decoded(installed: None, caplog: pytest.LogCaptureFixture) -> None:
    """What uvicorn logs is the address as sent: percent-encoded Chinese around the number."""
    access = logging.getLogger("shuzhi.test.access")
    sent = "/api/hotline/workorders?status=%E7%94%B5%E8%AF%9D13812345678&q=a%2011010519491231002X"
    with caplog.at_level(logging.INFO):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", sent, "1.1", 200)
    line = caplog.records[-1].getMessage()
    assert PHONE not in line and "11010519491231002X" not in line
    assert "电话138****5678" in line and "110105********002X" in line
