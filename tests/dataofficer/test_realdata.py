"""The real hotline files as datasets: profiling, phone numbers masked inside texts, findings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.quality import Rule
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.platform.helpers import principal

pytestmark = pytest.mark.realdata

# Landlines and mobiles as citizens wrote them; the source's own masking (0000-00000000) aside.
PHONE = re.compile(r"(?<!\d)(0\d{2,3}-?[1-9]\d{6,7}|1[3-9]\d{9})(?!\d)")


def _query(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


FILES = {
    "messages_labelled.csv": 4403,
    "messages_sample.xlsx": 495,
    "messages_with_replies.xlsx": 1408,
    "messages_with_votes.xlsx": 4326,
}


def test_hotline_files_as_datasets(shared_data: Path, db: Database, settings: Settings) -> None:
    hotline = shared_data / "hotline"
    with db.session() as session:
        viewer = principal(session, "viewer", (Role.VIEWER, None))
        for file, rows in FILES.items():
            dataset = service.register_file(session, settings, hotline / file, actor="test")
            service.profile_dataset(session, dataset)
            assert dataset.row_count == rows, file  # trailing empty formatted rows are skipped

        labelled = service.get_dataset(session, "messages_labelled")
        kinds = {f.name: f.kind for f in service.fields_of(session, labelled.id)}
        assert kinds["留言详情"] == "text_with_pii"

        raw = _query(f"SELECT 留言详情 FROM read_parquet('{labelled.storage_path}')")
        phones = {m for (text,) in raw for m in PHONE.findall(text or "")}
        assert len(phones) >= 5  # the texts do carry real phone numbers

        columns, shown = service.preview(session, settings, labelled, viewer, limit=5000)
        with_phone = [i for i, (text,) in enumerate(raw) if PHONE.search(text or "")]
        assert len(shown) == len(raw) and with_phone
        position = columns.index("留言详情")
        for i in with_phone:
            assert not PHONE.search(shown[i][position]), shown[i][position]

        stored = json.dumps(labelled.profile, ensure_ascii=False)
        assert not any(p in stored for p in phones)

        sample = service.get_dataset(session, "messages_sample")
        run = service.run_quality(session, sample.id, triggered_by="test")
        findings = {(r["rule"]["kind"], r["rule"]["column"]): r for r in run.results}
        duplicate = findings[("uniqueness", "留言编号")]
        assert duplicate["failing"] == 1  # message 37042 was published twice
        assert {row["留言编号"] for row in duplicate["failing_rows"]} == {"37042"}
        assert findings[("validity", "留言时间")]["failing"] == 0  # both text formats parse

        service.add_rule(session, labelled, Rule("completeness", "留言编号"), actor="test")
        labelled_run = service.run_quality(session, labelled.id)
        missing = next(
            r
            for r in labelled_run.results
            if r["rule"]["column"] == "留言编号" and r["rule"]["kind"] == "completeness"
        )
        nulls = _query(
            f"SELECT count(*) FROM read_parquet('{labelled.storage_path}') WHERE 留言编号 IS NULL"
        )[0][0]
        assert missing["failing"] == nulls > 3000
        for result in labelled_run.results:
            dumped = json.dumps(result["failing_rows"], ensure_ascii=False)
            assert not any(p in dumped for p in phones)
