"""Definition files saved in GBK/GB18030 (as Windows editors often do) load; unknown encodings are
refused with a Chinese message that says to save as UTF-8."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select

from shuzhi.employees import load_definition_file
from shuzhi.errors import InvalidInput
from shuzhi.scenarios import export_pack, import_pack
from shuzhi.scenarios.loader import load_scenario_file
from shuzhi.storage.db import Database
from shuzhi.storage.models import Employee, Scenario
from tests.clirun import run_cli
from tests.employees.surfaces import definition_yaml

TRADITIONAL = (
    "id: pension-helper\nname: 養老金計算助手\n"
    "department: {code: hrss, name: 人力資源和社會保障局}\n"
    "role: 估算養老金，解釋計發辦法。依據條例作答並註明出處。\n"
)


def _cli_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_a_definition_saved_as_gbk_is_applied(
    env: dict[str, str],
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
) -> None:
    _cli_env(env, monkeypatch)
    path = tmp_path / "pension.yaml"
    path.write_bytes(definition_yaml("pension-helper", knowledge_bases="[]").encode(encoding))

    result = run_cli(monkeypatch, capsys, "employees", "apply", str(path))

    assert result.returncode == 0, result.stderr
    with db.session() as session:
        row = session.scalar(select(Employee).where(Employee.slug == "pension-helper"))
        assert row is not None and row.name == "养老金计算助手"


def test_a_definition_of_uncertain_encoding_is_refused(
    env: dict[str, str],
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli_env(env, monkeypatch)
    big5 = tmp_path / "big5.yaml"
    big5.write_bytes(TRADITIONAL.encode("big5"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)

    results = [run_cli(monkeypatch, capsys, "employees", "apply", str(p)) for p in (big5, binary)]

    assert [r.returncode for r in results] == [2, 2]
    assert "既不是 UTF-8 也不是 GBK/GB18030 编码" in results[0].stderr
    assert "无法识别员工定义文件" in results[1].stderr
    for result in results:
        assert "另存为 UTF-8 编码" in result.stderr
        assert "codec" not in result.stderr and "Traceback" not in result.stderr
    with db.session() as session:
        assert session.scalar(select(Employee.id)) is None


def test_a_missing_definition_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"无法读取员工定义文件 .*nope\.yaml"):
        load_definition_file(tmp_path / "nope.yaml")


def _scenario_text() -> str:
    source = resources.files("shuzhi.scenarios").joinpath(
        "catalogue/social/pension-back-payment.yaml"
    )
    return source.read_text("utf-8")


def test_a_scenario_file_saved_as_gbk_loads(tmp_path: Path) -> None:
    path = tmp_path / "social" / "pension-back-payment.yaml"
    path.parent.mkdir()
    path.write_bytes(_scenario_text().encode("gb18030"))

    scenario = load_scenario_file(path)

    assert scenario.name.zh == "养老保险欠费补缴及滞纳金测算"


def test_a_scenario_pack_saved_as_gbk_is_installed(db: Database, tmp_path: Path) -> None:
    pack = export_pack(["social.pension-back-payment"], name="本地包")
    path = tmp_path / "pack.yaml"
    path.write_bytes(
        pack.replace("social.pension-back-payment", "social.back-pay-local").encode("gbk")
    )

    installed = import_pack(path, db=db, actor="test")

    assert [s.name.zh for s in installed] == ["养老保险欠费补缴及滞纳金测算"]
    with db.session() as session:
        slugs = session.scalars(select(Scenario.slug).where(Scenario.source != "builtin")).all()
        assert slugs == ["social.back-pay-local"]
