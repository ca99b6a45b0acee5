"""The data officer on a real database (SQLite and PostgreSQL): register → profile → people
confirm grades and catalogue → quality runs and trend → questions with masked views."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.quality import Rule
from shuzhi.dataofficer.synthetic import write_population_csv
from shuzhi.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.identity import Principal
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, ReviewTask
from tests.platform.helpers import department, principal

ROWS = 5_000


@pytest.fixture
def register_csv(tmp_path: Path) -> Path:
    path = tmp_path / "register.csv"
    write_population_csv(path, ROWS)
    return path


def _setup(db: Database, settings: Settings, csv_path: Path) -> dict[str, Principal]:
    with db.session() as session:
        civil = department(session, "civil", "民政局")
        other = department(session, "traffic", "交通局")
        people = {
            "officer": principal(session, "officer", (Role.REVIEWER, civil.id)),
            "operator": principal(session, "operator", (Role.OPERATOR, civil.id)),
            "viewer": principal(session, "viewer", (Role.VIEWER, civil.id)),
            "outsider": principal(session, "outsider", (Role.VIEWER, other.id)),
        }
        dataset = service.register_file(
            session,
            settings,
            csv_path,
            name="register",
            title="人口登记",
            department_id=civil.id,
            actor="operator",
        )
        service.profile_dataset(session, dataset)
    return people


def test_profile_proposes_grades_rules_and_catalogue_for_people_to_confirm(
    db: Database, settings: Settings, register_csv: Path
) -> None:
    people = _setup(db, settings, register_csv)
    with db.session() as session:
        dataset = service.get_dataset(session, "register")
        fields = {f.name: f for f in service.fields_of(session, dataset.id)}
        assert fields["身份证号"].kind == "id_number"
        assert fields["身份证号"].proposed_grade == "important"
        assert fields["身份证号"].grade is None  # nothing confirmed yet
        assert any("二十八条" in r for r in fields["身份证号"].grade_reasons)
        assert fields["性别"].proposed_grade == "general"
        tasks = session.scalars(select(ReviewTask).order_by(ReviewTask.id)).all()
        assert [t.kind for t in tasks] == ["data.grading", "data.catalogue"]
        assert all(t.status == "pending" and t.proposed_by == "ai" for t in tasks)
        entry = service.catalogue_of(session, dataset)
        assert entry.status == "draft" and entry.sharing == "conditional"
        assert entry.department == "民政局" and entry.mode == "offline"

    with db.session() as session, pytest.raises(InvalidInput, match="理由"):
        service.confirm_grades(
            session,
            service.get_dataset(session, "register"),
            people["officer"],
            grades={"性别": "important"},
        )

    with db.session() as session:
        dataset = service.get_dataset(session, "register")
        rows = service.confirm_grades(
            session, dataset, people["officer"], grades={"性别": "important"}, reason="涉及特殊群体"
        )
        confirmed = {f.name: f for f in rows}
        assert confirmed["性别"].grade == "important"
        assert confirmed["身份证号"].grade == "important"
        assert confirmed["登记日期"].grade == "general"
        assert confirmed["身份证号"].confirmed_by_name == "officer"

    with db.session() as session:
        dataset = service.get_dataset(session, "register")
        entry = service.confirm_catalogue(
            session, dataset, people["officer"], edits={"update_cycle": "每月"}, reason="按月更新"
        )
        assert entry.status == "confirmed" and entry.update_cycle == "每月"
        assert entry.drafted_by == "human" and entry.confirmed_by_name == "officer"
        with pytest.raises(Conflict):
            service.confirm_catalogue(session, dataset, people["officer"])
        actions = set(session.scalars(select(AuditRecord.action)))
        assert {"data.register", "review.create", "review.decide"} <= actions


def test_grades_need_a_named_person(db: Database, settings: Settings, register_csv: Path) -> None:
    _setup(db, settings, register_csv)
    system = Principal(name="key:etl", roles=frozenset({(Role.REVIEWER.value, None)}))
    with db.session() as session, pytest.raises(PermissionDenied, match="具名"):
        service.confirm_grades(session, service.get_dataset(session, "register"), system)


def test_quality_runs_are_stored_with_a_trend(
    db: Database, settings: Settings, register_csv: Path
) -> None:
    people = _setup(db, settings, register_csv)
    with db.session() as session:
        dataset = service.get_dataset(session, "register")
        first = service.run_quality(session, dataset.id, triggered_by="test")
        counts = {(r["rule"]["kind"], r["rule"]["column"]): r["failing"] for r in first.results}
        assert counts[("validity", "身份证号")] == ROWS // 50
        assert counts[("uniqueness", "身份证号")] == ROWS // 100
        assert counts[("completeness", "手机号")] == ROWS // 20
        assert all("*" in row["身份证号"] for r in first.results for row in r["failing_rows"])

        phone_rule = next(
            r
            for r in service.rules_of(session, dataset.id)
            if r.kind == "completeness" and r.column == "手机号"
        )
        service.update_rule(session, phone_rule.id, actor=people["operator"].name, enabled=False)
        service.add_rule(
            session, dataset, Rule("validity", "出生日期", {"check": "date"}), actor="operator"
        )
        second = service.run_quality(session, dataset.id)

    with db.session() as session:
        trend = service.quality_trend(session, dataset.id)
        assert [r.id for r in trend] == [first.id, second.id]
        assert second.score > first.score  # the disabled phone rule no longer counts


def test_questions_follow_department_and_grade(
    db: Database, settings: Settings, register_csv: Path
) -> None:
    people = _setup(db, settings, register_csv)
    with db.session() as session:
        with pytest.raises(PermissionDenied):
            service.add_template(session, "删除登记", "DELETE FROM register", actor="operator")
        row = service.add_template(
            session,
            "身份证号为{号码}的人叫什么",
            "SELECT 姓名, 身份证号, 手机号 FROM register WHERE 身份证号 = :号码",
            actor="operator",
        )
        with pytest.raises(NotFound, match="模板"):  # proposed, not yet approved
            service.ask(session, settings, "身份证号为1的人叫什么", people["viewer"])
        service.approve_template(session, row.id, people["operator"])

    first_id = register_csv.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    question = f"身份证号为{first_id}的人叫什么？"
    with db.session() as session:
        seen_by_viewer = service.ask(session, settings, question, people["viewer"])
        seen_by_operator = service.ask(session, settings, question, people["operator"])

    # The viewer sees masked values, and the WHERE on the masked column finds nobody in clear.
    assert seen_by_viewer.rows == [] and seen_by_viewer.mode == "offline"
    assert len(seen_by_operator.rows) == 1 and seen_by_operator.rows[0][1] == first_id

    with db.session() as session, pytest.raises(PermissionDenied, match="register"):
        service.ask(session, settings, question, people["outsider"])


def test_quality_job_scores_every_dataset_with_rules(
    db: Database, settings: Settings, register_csv: Path
) -> None:
    import shuzhi.dataofficer.jobs  # noqa: F401  (registers the data.* job kinds)
    from shuzhi import jobs

    _setup(db, settings, register_csv)
    job = jobs.run_inline(db, "data.quality", {}, settings=settings, created_by="test")

    assert job.status == jobs.SUCCEEDED, job.error
    assert job.result is not None and set(job.result["scores"]) == {"register"}
    assert 90 < job.result["scores"]["register"] < 100
    with db.session() as session:
        runs = service.quality_trend(session, service.get_dataset(session, "register").id)
        assert [r.triggered_by for r in runs] == ["schedule"]
