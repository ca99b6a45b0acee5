"""The batch's files give times in Beijing time, as the console does, and say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from shuzhi.scenarios.hotline.batch import BatchJob
from shuzhi.scenarios.hotline.classifier import DispatchClassifier

# Early in the morning in Beijing is the evening before in UTC: a UTC date would be a day off.
EARLY = "2019/3/1 07:30:00"
LEAK = "A5区锦绣花园小区地下车库漏水两个月了，物业一直不修，请尽快处理。"


def test_times_are_beijing_time_in_the_workbook_report_and_json_lines(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    source = tmp_path / "early.csv"
    source.write_text(
        "留言编号,留言时间,留言详情\n"
        f"E1,{EARLY},{LEAK}\n"
        f"E2,2019/3/1 06:10:00,{LEAK}\n"
        "E3,2019/3/2 23:59:59,请问灵活就业人员的社保怎么缴纳？\n",
        encoding="utf-8",
    )
    result = BatchJob(classifier).run(source, tmp_path / "out")
    assert result.orders[0].message.received_at == datetime(2019, 2, 28, 23, 30, tzinfo=UTC)

    book = load_workbook(result.outputs["workbook"], read_only=True)
    rows = list(book["工单"].iter_rows(values_only=True))
    header = list(rows[0])
    assert "受理时间(北京时间)" in header and not any("UTC" in str(h) for h in header)
    received = [row[header.index("受理时间(北京时间)")] for row in rows[1:]]
    assert received == ["2019-03-01 07:30:00", "2019-03-01 06:10:00", "2019-03-02 23:59:59"]
    about = {row[0]: row[1] for row in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["时间"] == "均为北京时间"

    # JSON Lines keeps ISO 8601 with the offset: the same instant, readable as Beijing time.
    lines = [
        json.loads(line) for line in Path(result.outputs["jsonl"]).read_text("utf-8").splitlines()
    ]
    assert lines[0]["received_at"] == "2019-03-01T07:30:00+08:00"
    stamps = [datetime.fromisoformat(line["received_at"]) for line in lines]
    assert stamps == [o.message.received_at for o in result.orders]

    # The two leak messages are one hot topic, dated by the Beijing day they came in.
    topics = list(book["热点"].iter_rows(values_only=True))
    assert topics[0][5] == "起止日期(北京时间)"
    assert topics[1][5] == "2019-03-01 ~ 2019-03-01"
    assert result.hot_topics[0]["first_at"] == "2019-03-01T06:10:00+08:00"
    report = Path(result.outputs["report"]).read_text("utf-8")
    assert "时间（北京时间）" in report and "2019-03-01T06:10:00+08:00" in report
