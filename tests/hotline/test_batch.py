from __future__ import annotations

import copy
import errno
import json
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, UserError
from shuzhi.platform.audit import verify_chain
from shuzhi.scenarios.hotline.batch import BatchJob
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.service import run_batch, store_orders
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, ReviewTask, WorkOrder


def test_batch_writes_labelled_outputs(
    tmp_path: Path, messy_xlsx: Path, classifier: DispatchClassifier
) -> None:
    result = BatchJob(classifier, threshold=0.5).run(messy_xlsx, tmp_path / "out")

    assert len(result.orders) == 4
    phone_order = result.orders[1]
    assert "13812345678" not in phone_order.masked_text and "138****5678" in phone_order.masked_text
    assert phone_order.requester_display != "A0002"
    assert result.orders[0].location["estate"] == "阳光新村"
    assert result.orders[0].deadline.due is not None
    assert result.evaluation is not None and result.evaluation["n_labelled"] == 4

    lines = Path(result.outputs["jsonl"]).read_text("utf-8").splitlines()
    assert len(lines) == 4
    row = json.loads(lines[0])
    assert row["AIGC"]["Label"] == "1" and row["mode"] == "offline" and row["decided_by"] == "ai"

    with zipfile.ZipFile(result.outputs["workbook"]) as book:
        custom = book.read("docProps/custom.xml").decode("utf-8")
    assert "AIGC" in custom and "ContentProducer" in custom

    page = Path(result.outputs["report"]).read_text("utf-8")
    assert '<meta name="AIGC"' in page and "【AI辅助·离线】" in page
    assert "echarts" in page and 'src="http' not in page  # opens with no internet


def test_low_confidence_goes_to_review_and_reruns_never_duplicate(
    db: Database, tmp_path: Path, messy_xlsx: Path, classifier: DispatchClassifier
) -> None:
    job = BatchJob(classifier, threshold=0.999)
    result = job.run(messy_xlsx)
    assert result.review_count == 4  # nothing is that sure: every order waits for a person

    first = store_orders(db, result, job_id=7)
    again = store_orders(db, job.run(messy_xlsx))
    assert first == {"inserted": 4, "skipped": 0, "review_tasks": 4}
    assert again == {"inserted": 0, "skipped": 4, "review_tasks": 0}

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 4
        task = session.scalars(select(ReviewTask)).first()
        assert task is not None and task.kind == "hotline_dispatch" and task.status == "pending"
        order = session.scalar(select(WorkOrder).where(WorkOrder.code == task.subject_id))
        assert order is not None and order.status == "pending_review" and order.job_id == 7
        assert order.mode == "offline" and order.model == "hotline-dispatch-v0"
        assert "第二十四条" in order.sources[0]["citation"]
        actions = session.scalars(select(AuditRecord.action)).all()
        assert actions.count("hotline.batch") == 2


def test_run_batch_trains_once_per_history_file(
    settings: Settings, db: Database, sample_files: tuple[Path, Path]
) -> None:
    history, messages = sample_files
    first = run_batch(settings, messages, history=history, db=db, out_dir=settings.data_dir / "o")
    second = run_batch(settings, messages, history=history, db=db)
    assert first.model == second.model == "hotline-dispatch-v1"
    assert first.stored["inserted"] == 80 and second.stored["skipped"] == 80
    assert first.hot_topics, "the invented batch repeats matters, so topics are found"
    assert Path(first.outputs["report"]).is_file()


def test_a_message_that_looks_like_a_formula_stays_text_in_the_workbook(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    from openpyxl import load_workbook

    source = tmp_path / "formula.csv"
    source.write_text(
        '留言编号,留言主题,留言详情\nF1,"=HYPERLINK(""http://evil"")","\t=1+1 小区路灯坏了"\n',
        encoding="utf-8",
    )
    result = BatchJob(classifier).run(source, tmp_path / "out")

    sheet = load_workbook(result.outputs["workbook"])["工单"]
    header = [c.value for c in sheet[1]]
    title, text = (
        sheet.cell(2, header.index("标题") + 1),
        sheet.cell(2, header.index("内容(脱敏)") + 1),
    )
    assert title.data_type == "s" and str(title.value).startswith("=HYPERLINK")
    assert text.data_type == "s"


def test_accuracy_leaves_out_what_the_model_was_trained_on(
    tmp_path: Path,
    sample_files: tuple[Path, Path],
    messy_xlsx: Path,
    classifier: DispatchClassifier,
) -> None:
    """Scoring a batch against its own labels counts only messages the model has not seen: the
    shared sample file shares two thirds of its messages with the labelled history, and the
    first-run summary printed 0.96 where the unseen third scores 0.87."""
    from shuzhi.scenarios.hotline.classifier import ModelStore

    history, _ = sample_files
    job = BatchJob(classifier, topics=False)
    on_history = job.run(history).evaluation
    assert on_history is not None and on_history["training_only"]
    assert on_history["n_in_training"] == on_history["n_labelled"] > 0
    assert "全部是训练数据" in on_history["note"]

    fresh = job.run(messy_xlsx).evaluation
    assert fresh is not None and fresh["n_in_training"] == 0 and fresh["n_labelled"] == 4

    # A batch of both: only the four new messages are scored, and the rest are counted apart.
    import csv

    mixed = tmp_path / "mixed.csv"
    with history.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    new = [m.message for m in job.run(messy_xlsx).orders if m.message.label]
    with mixed.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(rows[0])
        out.writerows(rows[1:4])
        col = {name: i for i, name in enumerate(rows[0])}
        for m in new:
            row = [""] * len(rows[0])
            row[col["留言主题"]], row[col["留言详情"]] = m.title, m.text
            row[col["一级分类"]] = str(m.label)
            out.writerow(row)
    both = job.run(mixed).evaluation
    assert both is not None and (both["n_labelled"], both["n_in_training"]) == (4, 3)
    assert "只计未参与训练的 4 条" in both["note"]

    # The keys survive saving and loading the model.
    store = ModelStore(tmp_path / "models")
    store.save(copy.deepcopy(classifier))  # saving numbers the model: not the shared fixture
    assert store.load().training_keys == classifier.training_keys != frozenset()


def test_the_workbook_shows_topic_heat_relative_to_the_hottest_and_the_classifiers_label(
    tmp_path: Path, sample_files: tuple[Path, Path], classifier: DispatchClassifier
) -> None:
    """Raw heat decays to 1e-11 over years of messages; the sheet shows it as the report does.
    A batch's categories come from the trained classifier, and its label says so."""
    from openpyxl import load_workbook

    from shuzhi.aigc import CLASSIFIER_LABEL

    result = BatchJob(classifier).run(sample_files[1], tmp_path / "out")
    assert result.hot_topics
    book = load_workbook(result.outputs["workbook"], read_only=True)
    rows = list(book["热点"].iter_rows(values_only=True))
    assert rows[0][4] == "热度（最热=100）"
    heats = [row[4] for row in rows[1:]]
    assert max(heats) == 100.0 and all(0 <= h <= 100 for h in heats)
    assert next(book["说明"].iter_rows(values_only=True))[0] == CLASSIFIER_LABEL
    assert CLASSIFIER_LABEL in Path(result.outputs["report"]).read_text("utf-8")


def test_an_order_without_a_readable_receipt_time_is_due_from_its_import(
    db: Database, tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """Stored with no due date it could never become overdue; its files say what it counts from.
    Run again later, the files keep the due date the database holds."""
    path = tmp_path / "no-time.csv"
    path.write_text("留言主题,留言时间,留言详情\n路灯坏了,上个月,小区路灯不亮\n", "utf-8")
    job = BatchJob(classifier, topics=False)

    first = job.run(path, tmp_path / "first", store=lambda r: store_orders(db, r))
    later = datetime.now(UTC) + timedelta(days=30)
    with patch("shuzhi.scenarios.hotline.batch.datetime", wraps=datetime) as clock:
        clock.now.return_value = later
        again = job.run(path, tmp_path / "again", store=lambda r: store_orders(db, r))

    due = first.orders[0].deadline.due
    assert due is not None and due > datetime.now(UTC).date()
    with db.session() as session:
        stored = session.scalars(select(WorkOrder)).one()
        assert stored.deadline == due and "按导入受理时间起算" in stored.sources[0]["citation"]
    assert again.orders[0].deadline.due != due, "the second run alone would count from later"
    row = json.loads(Path(again.outputs["jsonl"]).read_text("utf-8"))
    assert row["deadline"] == due.isoformat() and row["received_at"] is None
    assert row["deadline_basis"].endswith("（留言时间缺失或无法识别，按导入受理时间起算）")


def test_a_file_name_that_is_not_utf8_is_stored_and_written_readably(
    db: Database, tmp_path: Path, classifier: DispatchClassifier
) -> None:
    """A GBK name from a Windows zip: the batch runs, and the name reads as its Chinese."""
    path = tmp_path / os.fsdecode("留言.csv".encode("gbk"))
    path.write_text("留言主题,留言详情\n路灯坏了,小区路灯不亮\n", "utf-8")

    result = BatchJob(classifier, topics=False).run(
        path, tmp_path / "out", store=lambda r: store_orders(db, r)
    )

    shown = "留言.csv"
    assert result.stored["inserted"] == 1 and Path(result.source).name == shown
    assert f"批处理报告 · {shown}" in Path(result.outputs["report"]).read_text("utf-8")
    with db.session() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "hotline.batch"))
        assert record.one().target == shown
        assert verify_chain(session).ok


def test_an_output_folder_that_is_a_file_is_refused_before_anything_is_stored(
    settings: Settings, db: Database, sample_files: tuple[Path, Path], tmp_path: Path
) -> None:
    history, messages = sample_files
    taken = tmp_path / "report.html"
    taken.write_text("kept", "utf-8")

    for out_dir, said in [
        (taken, f"输出目录 {taken} 是一个已有的文件，不是文件夹"),
        (taken / "sub", f"输出目录 {taken / 'sub'} 无法创建：其中的 {taken} 是文件，不是文件夹"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            run_batch(settings, messages, history=history, db=db, out_dir=out_dir)
        assert refused.value.message == said and "另选一个文件夹" in (refused.value.hint or "")

    assert taken.read_text("utf-8") == "kept"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_files_that_fail_after_storing_say_the_orders_are_stored_and_how_to_write_them(
    db: Database,
    tmp_path: Path,
    classifier: DispatchClassifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A disk that fills up while the files are written: the orders are in, a rerun writes them."""
    path = tmp_path / "留言.csv"
    path.write_text("留言主题,留言详情\n路灯坏了,小区路灯不亮\n", "utf-8")

    def full(result: object, out_dir: Path) -> dict[str, str]:
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "workorders.xlsx"))

    monkeypatch.setattr("shuzhi.scenarios.hotline.outputs.write_outputs", full)
    with pytest.raises(UserError) as failed:
        BatchJob(classifier, topics=False).run(
            path, tmp_path / "out", store=lambda r: store_orders(db, r)
        )

    assert failed.value.message == (
        f"工单已写入数据库（新增 1 张），但结果文件 {tmp_path / 'out' / 'workorders.xlsx'} "
        "无法写出：磁盘空间不足"
    )
    assert "再处理一次同一文件" in (failed.value.hint or "")
