"""With a model endpoint: SQL and catalogue drafts come from the model, through the gateway,
and are checked and labelled exactly like the offline ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.model import drafters
from shuzhi.errors import PermissionDenied
from shuzhi.gateway import Caller, Gateway
from shuzhi.gateway.registry import EndpointSpec, add_endpoint
from shuzhi.gateway.testing import ScriptedModelServer
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.dataofficer.helpers import PEOPLE_HEADER, PEOPLE_ROWS, write_csv
from tests.platform.helpers import principal


@pytest.fixture
def gateway(
    db: Database, settings: Settings, scripted_model: ScriptedModelServer
) -> Iterator[Gateway]:
    spec = EndpointSpec(name="city-v3", base_url=scripted_model.base_url, model="deepseek-chat")
    with db.session() as session:
        add_endpoint(session, settings, spec, actor="test")
    gw = Gateway(db, settings, config_ttl=0.0)
    yield gw
    gw.close()


def test_model_drafts_sql_and_catalogue(
    db: Database,
    settings: Settings,
    gateway: Gateway,
    scripted_model: ScriptedModelServer,
    tmp_path: Path,
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, PEOPLE_ROWS, "utf-8")
    sql_drafter, catalogue_drafter = drafters(gateway, Caller("system", "data-officer"))
    assert sql_drafter is not None and catalogue_drafter is not None
    scripted_model.push(
        '```json\n{"title": "低保对象名册", "description": "低保对象的联系信息", '
        '"update_cycle": "每月", "fields": {"备注": "家庭情况说明"}}\n```'
    )
    with db.session() as session:
        asker = principal(session, "operator", (Role.OPERATOR, None))
        dataset = service.register_file(session, settings, csv_path, name="people")
        service.profile_dataset(session, dataset, drafter=catalogue_drafter)
        entry = service.catalogue_of(session, dataset)
        assert entry.mode == "model" and entry.model == "deepseek-chat"
        assert entry.title == "低保对象名册" and entry.update_cycle == "每月"
        assert entry.status == "draft"  # a person still confirms it
        meanings = {f["name"]: f["meaning"] for f in entry.fields}
        assert meanings["备注"] == "家庭情况说明"

    prompt = str(scripted_model.chat_requests[0]["messages"])
    assert "身份证号" in prompt and PEOPLE_ROWS[0][1] not in prompt and "张三" not in prompt

    scripted_model.push("```sql\nSELECT count(*) AS 人数 FROM people WHERE 联系电话 IS NULL\n```")
    with db.session() as session:
        result = service.ask(session, settings, "没有留电话的有几个人", asker, drafter=sql_drafter)
    assert result.mode == "model" and result.source == "model" and result.model == "deepseek-chat"
    assert result.rows == [[1]]

    scripted_model.push("DELETE FROM people")
    with db.session() as session, pytest.raises(PermissionDenied, match="DELETE"):
        service.ask(session, settings, "把名单清空", asker, drafter=sql_drafter)


def test_no_endpoint_means_offline(db: Database, settings: Settings) -> None:
    gw = Gateway(db, settings, config_ttl=0.0)
    try:
        assert drafters(gw, Caller()) == (None, None)
    finally:
        gw.close()
