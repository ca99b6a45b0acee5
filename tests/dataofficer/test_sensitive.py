"""Sensitive fields are found from the header when the values fail their checks, and from the
values when the header says nothing; grades, profiles, masked views and quality reports follow.

Every table here is made up in the test; ID numbers, cards and credit codes are computed by
``tests.dataofficer.helpers``, independently of the product.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from shuzhi.config import Settings
from shuzhi.dataofficer import service
from shuzhi.dataofficer.profile import DatasetProfile, profile_parquet
from shuzhi.dataofficer.sensitive import Grade, header_kind, propose_grade
from shuzhi.dataofficer.sources import load_file
from shuzhi.dataofficer.sqlrules import literal, mask_sql
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.clirun import run_cli
from tests.dataofficer.helpers import broken, credit_code, id_number, luhn_card, write_csv
from tests.platform.helpers import department, principal

ROWS = 12
NAMES = [
    "张伟",
    "王芳",
    "李娜",
    "刘强",
    "陈静",
    "杨磊",
    "黄敏",
    "赵军",
    "吴艳",
    "周杰",
    "徐娟",
    "孙涛",
]
VALID_IDS = [id_number(f"370102{1960 + i}0{1 + i % 9}1{i % 10}{100 + i}") for i in range(ROWS)]
# The tester's example and its like: real region and birth date, wrong check digit.
MISTYPED_IDS = [broken(id_number(f"11010119851212{i:03d}")) for i in range(ROWS)]
PHONES = [f"1381234{5600 + i}" for i in range(ROWS)]
ID_SHAPE_MASKED = re.compile(r"\d{6}\*{8}\d{3}[\dX]")


def _profile(tmp_path: Path, header: list[str], rows: list[list[str]]) -> DatasetProfile:
    path = write_csv(tmp_path / "table.csv", header, rows, "gbk")
    return profile_parquet(load_file(path, tmp_path / "table.parquet").parquet)


def _column(tmp_path: Path, header: str, values: list[str]) -> DatasetProfile:
    return _profile(tmp_path, [header], [[v] for v in values])


def _people_rows() -> list[list[str]]:
    return [
        [NAMES[i], MISTYPED_IDS[i], PHONES[i], VALID_IDS[i], ("已办结", "办理中")[i % 2]]
        for i in range(ROWS)
    ]


PEOPLE = ["姓名", "身份证号", "手机", "编号", "状态"]


# ---------------------------------------------------------------- profile and grading


def test_mistyped_ids_under_an_id_header_are_masked_and_graded_important(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PEOPLE, _people_rows())
    col = profile.column("身份证号")

    assert col.detection is not None and col.pii_kind == "id_number"
    assert col.detection.share == 0.0  # none passes the check digit, and yet it is an ID column
    assert any("校验码不符" in r for r in col.detection.reasons)
    assert any("身份证" in r and "列名" in r for r in col.detection.reasons)
    assert col.sample and all(ID_SHAPE_MASKED.fullmatch(v) for v in col.sample)
    assert col.min is None and col.max is None

    stored = json.dumps(profile.to_dict(), ensure_ascii=False)
    assert not any(v in stored for v in MISTYPED_IDS + VALID_IDS + PHONES)

    grade = propose_grade(col.name, col.pii_kind)
    assert grade.grade is Grade.IMPORTANT and grade.grade.label_zh == "重要数据"
    assert any("第二十八条" in r for r in grade.reasons)


def test_valid_ids_under_a_neutral_header_are_found_from_the_values(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PEOPLE, _people_rows())
    col = profile.column("编号")

    assert col.detection is not None and col.pii_kind == "id_number"
    assert col.detection.share == 1.0
    assert not any("列名" in r for r in col.detection.reasons)
    assert all(ID_SHAPE_MASKED.fullmatch(v) for v in col.sample)
    assert propose_grade(col.name, col.pii_kind).grade is Grade.IMPORTANT
    assert profile.column("状态").pii_kind is None
    assert propose_grade("状态", None).grade is Grade.GENERAL


def test_gbk_file_with_mistyped_ids_profiles_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "home"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "")
    monkeypatch.setenv("COLUMNS", "240")
    path = write_csv(tmp_path / "people.csv", PEOPLE, _people_rows(), "gbk")

    result = run_cli(monkeypatch, capsys, "data", "profile", str(path))

    assert result.returncode == 0, result.stderr
    rows = [line.split("│") for line in result.stdout.splitlines() if "│" in line]
    row = "│".join(next(cells for cells in rows if "身份证号" in cells[1]))
    assert "重要数据" in row and "一般数据" not in row
    assert "110101********" in row
    assert not any(v in result.stdout for v in MISTYPED_IDS + VALID_IDS)


NOT_VALID: list[tuple[str, list[str], str]] = [
    ("身份证号", MISTYPED_IDS, "id_number"),
    ("公民身份号码", [v[:17] for v in VALID_IDS], "id_number"),  # a digit lost
    ("联系电话", [f"139{i}234" for i in range(ROWS)], "phone"),
    ("家庭住址", [f"{n}家" for n in NAMES], "address"),
    (
        "银行卡号",
        [luhn_card(f"62220212345678{i:04d}")[:-1] + "x" for i in range(ROWS)],
        "bank_card",
    ),
    ("统一社会信用代码", [f"91370102MA3C{i:05d}Z" for i in range(ROWS)], "credit_code"),
    ("车牌号", [f"鲁I{12340 + i}" for i in range(ROWS)], "plate"),  # no plate uses I
    ("诊断结果", ["良好", "待复查"] * (ROWS // 2), "health"),
    ("参保状态", ["正常", "暂停"] * (ROWS // 2), "social_security"),
    ("申请人", [f"Applicant {i}" for i in range(ROWS)], "name"),
    ("电子邮箱", [f"user{i} at example" for i in range(ROWS)], "email"),
]


@pytest.mark.parametrize(("header", "values", "kind"), NOT_VALID, ids=[c[0] for c in NOT_VALID])
def test_header_decides_when_values_fail_their_checks(
    tmp_path: Path, header: str, values: list[str], kind: str
) -> None:
    col = _column(tmp_path, header, values).column(header)

    assert col.pii_kind == kind
    assert col.detection is not None and any("列名" in r for r in col.detection.reasons)
    assert col.sample and not any(v in s for s in col.sample for v in values)  # shown masked
    expected = Grade.GENERAL if kind == "credit_code" else Grade.IMPORTANT  # a public identifier
    assert propose_grade(header, kind).grade is expected


VALUES_ONLY: list[tuple[list[str], str]] = [
    (VALID_IDS, "id_number"),
    (NAMES, "name"),
    (PHONES, "phone"),
    ([f"山东省济南市历下区经十路{i + 1}号" for i in range(ROWS)], "address"),
    ([luhn_card(f"62220212345678{i:04d}") for i in range(ROWS)], "bank_card"),
    ([credit_code(f"91370102MA3C{i:05d}") for i in range(ROWS)], "credit_code"),
    ([f"鲁A{12340 + i}" for i in range(ROWS)], "plate"),
    (["高血压", "2型糖尿病", "肺结核", "肢体残疾三级"] * (ROWS // 4), "health"),
    (["城镇职工基本养老保险", "城乡居民医疗保险", "低保"] * (ROWS // 3), "social_security"),
    ([f"user{i}@example.com" for i in range(ROWS)], "email"),
]


@pytest.mark.parametrize(("values", "kind"), VALUES_ONLY, ids=[c[1] for c in VALUES_ONLY])
def test_values_decide_under_a_neutral_header(tmp_path: Path, values: list[str], kind: str) -> None:
    col = _column(tmp_path, "字段一", values).column("字段一")

    assert col.pii_kind == kind
    assert col.sample and not any(v in s for s in col.sample for v in values)


def _case_numbers() -> list[str]:
    numbers = []
    for i in range(ROWS):
        valid = id_number(f"37010220240{1 + i % 9}1{i % 10}{i:03d}")
        numbers.append(broken(valid))  # region and date, like an ID, but a case number
    return numbers


NEUTRAL: list[tuple[str, list[str]]] = [
    ("district", ["历下区", "市中区", "槐荫区", "天桥区", "历城区", "长清区"] * 2),
    ("department", ["民政局", "公安局", "财政局", "人社局", "卫健委", "教育局"] * 2),
    ("status", ["已办结", "办理中"] * (ROWS // 2)),
    ("level", ["高级", "中级", "初级"] * (ROWS // 3)),  # 高 is a surname, but three words repeat
    ("case number", _case_numbers()),
    ("amount", [str(1000 + i * 37) for i in range(ROWS)]),
]


@pytest.mark.parametrize(("label", "values"), NEUTRAL, ids=[c[0] for c in NEUTRAL])
def test_neutral_columns_stay_general(tmp_path: Path, label: str, values: list[str]) -> None:
    assert _column(tmp_path, "字段一", values).column("字段一").pii_kind is None


def test_ids_by_shape_need_some_valid_ones_without_a_header(tmp_path: Path) -> None:
    half = VALID_IDS[: ROWS // 2] + MISTYPED_IDS[ROWS // 2 :]
    assert _column(tmp_path, "编号", half).column("编号").pii_kind == "id_number"
    # Every one mistyped and no header: a numbering scheme of region and date, not ID numbers.
    assert _column(tmp_path, "编号", MISTYPED_IDS).column("编号").pii_kind is None


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("联系人电话", "phone"),
        ("申请人身份证号码", "id_number"),
        ("户主姓名", "name"),
        ("社保卡号", "social_security"),
        ("银行卡号", "bank_card"),
        ("法定代表人手机号", "phone"),
        ("登记日期", None),
    ],
)
def test_the_last_word_of_a_compound_header_names_the_column(header: str, kind: str) -> None:
    found = header_kind(header)
    assert (found.value if found else None) == kind


def test_empty_column_with_an_id_header_is_still_protected(tmp_path: Path) -> None:
    profile = _profile(tmp_path, ["身份证号", "备注"], [["", f"备注{i}"] for i in range(3)])
    assert profile.column("身份证号").pii_kind == "id_number"


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("phone", "1391234", "1****"),  # a short, mistyped phone is not shown whole
        ("id_number", "1101011985121", "1****"),
        ("address", "张伟家", "张****"),
        ("social_security", "低保", "低****"),
        ("email", "user0 at example", "u***"),
        ("id_number", "110101198512120021", "110101********0021"),
        ("id_number", "370102850101123", "370102********1123"),
        ("bank_card", "6222021234", "6****"),
    ],
)
def test_masks_never_show_a_short_value_whole(kind: str, value: str, shown: str) -> None:
    row = duckdb.connect().execute(f"SELECT {mask_sql(kind, literal(value))}").fetchone()
    assert row is not None and row[0] == shown


# ---------------------------------------------------------------- storage, views, quality


def test_masked_views_and_quality_on_the_database(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "people.csv", PEOPLE, _people_rows(), "gbk")
    with db.session() as session:
        civil = department(session, "civil", "民政局")
        viewer = principal(session, "viewer", (Role.VIEWER, civil.id))
        operator = principal(session, "operator", (Role.OPERATOR, civil.id))
        dataset = service.register_file(
            session, settings, path, name="people", department_id=civil.id, actor="operator"
        )
        service.profile_dataset(session, dataset)

    with db.session() as session:
        dataset = service.get_dataset(session, "people")
        fields = {f.name: f for f in service.fields_of(session, dataset.id)}
        assert fields["身份证号"].kind == fields["编号"].kind == "id_number"
        assert fields["身份证号"].proposed_grade == fields["编号"].proposed_grade == "important"
        assert fields["状态"].proposed_grade == "general"
        assert set(service.view_of(session, dataset, Grade.GENERAL).masked) == {
            "姓名",
            "身份证号",
            "手机",
            "编号",
        }

        columns, rows = service.preview(session, settings, dataset, viewer)
        shown = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        assert all(ID_SHAPE_MASKED.fullmatch(v) for v in shown["身份证号"] + shown["编号"])
        assert shown["状态"][:2] == ["已办结", "办理中"]
        _, clear = service.preview(session, settings, dataset, operator)
        assert [r[columns.index("身份证号")] for r in clear] == MISTYPED_IDS

        run = service.run_quality(session, dataset.id, triggered_by="test")

    results = {(r["rule"]["kind"], r["rule"]["column"]): r for r in run.results}
    assert results[("validity", "身份证号")]["failing"] == ROWS  # reported invalid, yet masked
    assert results[("validity", "编号")]["failing"] == 0
    listed = results[("validity", "身份证号")]["failing_rows"]
    assert listed and all(ID_SHAPE_MASKED.fullmatch(r["身份证号"]) for r in listed)
    assert not any(v in json.dumps(run.results, ensure_ascii=False) for v in MISTYPED_IDS)
