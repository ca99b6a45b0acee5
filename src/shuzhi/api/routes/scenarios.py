"""``/api/scenarios``: the scenario catalogue (field → scenario), runs, evaluation and packs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from shuzhi.api.deps import DbSession, get_db, require
from shuzhi.errors import InvalidInput, NotFound, PermissionDenied
from shuzhi.platform.identity import Principal
from shuzhi.scenarios import (
    FIELD_NAMES_ZH,
    FieldId,
    ScenarioDef,
    evaluate,
    export_pack,
    import_pack_text,
    load_catalogue,
    run_scenario,
)
from shuzhi.scenarios.store import get_run
from shuzhi.storage.db import Database

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])
DbDep = Annotated[Database, Depends(get_db)]


class ScenarioSummary(BaseModel):
    id: str
    field: str
    name_zh: str
    name_en: str
    department: str
    employee: str
    version: int
    flagship: bool
    human_gate: str
    manual_minutes: float
    cases: int

    @classmethod
    def of(cls, s: ScenarioDef) -> ScenarioSummary:
        return cls(
            id=s.id,
            field=s.field.value,
            name_zh=s.name.zh,
            name_en=s.name.en,
            department=s.department,
            employee=s.employee,
            version=s.version,
            flagship=s.flagship,
            human_gate=s.human_gate.value,
            manual_minutes=s.manual_minutes,
            cases=len(s.cases),
        )


class FieldGroup(BaseModel):
    field: str
    name_zh: str
    scenarios: list[ScenarioSummary]


class RunRequest(BaseModel):
    inputs: dict[str, Any] = Field(description="场景输入，键为输入名")
    department_id: int | None = None


class EvalRequest(BaseModel):
    ids: list[str] | None = Field(default=None, description="场景编号；为空表示全部")


class PackImport(BaseModel):
    pack: str = Field(description="场景包 YAML 全文")
    replace: bool = False


@router.get("", response_model=list[FieldGroup])
def list_scenarios(
    _: Annotated[Principal, require("scenario.read")],
    db: DbDep,
    field: str | None = None,
) -> list[FieldGroup]:
    groups = load_catalogue(db=db).by_field()
    if field is not None:
        _field_id(field)
    return [
        FieldGroup(
            field=f.value,
            name_zh=FIELD_NAMES_ZH[f],
            scenarios=[ScenarioSummary.of(s) for s in items],
        )
        for f, items in groups.items()
        if field is None or f.value == field
    ]


@router.get("/runs/{run_id}")
def read_run(
    principal: Annotated[Principal, require("scenario.read")], db: DbDep, run_id: str
) -> dict[str, Any]:
    run = get_run(db, run_id)
    visible = principal.visible_departments("scenario.read")
    if visible is not None and run["department_id"] not in visible:
        raise NotFound(f"没有运行记录 {run_id}")
    return run


@router.post("/eval")
def evaluate_scenarios(
    _: Annotated[Principal, require("scenario.manage")], db: DbDep, body: EvalRequest
) -> dict[str, Any]:
    return evaluate(body.ids, catalogue=load_catalogue(db=db)).as_dict()


@router.get("/packs/export", response_class=PlainTextResponse)
def export_scenarios(
    _: Annotated[Principal, require("scenario.manage")],
    db: DbDep,
    ids: Annotated[list[str] | None, Query()] = None,
    field: str | None = None,
    name: str = "场景包",
) -> str:
    catalogue = load_catalogue(db=db)
    chosen = list(ids or [])
    if field is not None:
        chosen += [s.id for s in catalogue.by_field()[_field_id(field)]]
    return export_pack(chosen, name=name, catalogue=catalogue)


def _field_id(value: str) -> FieldId:
    try:
        return FieldId(value)
    except ValueError:
        valid = "、".join(f"{f.value}（{FIELD_NAMES_ZH[f]}）" for f in FieldId)
        raise InvalidInput(
            f"没有领域 {value!r}；field 可用的值：{valid}", hint="改用其中一个领域编码后重试"
        ) from None


@router.post("/packs/import")
def import_scenarios(
    principal: Annotated[Principal, require("scenario.manage")],
    session: DbSession,
    body: PackImport,
) -> dict[str, Any]:
    scenarios = import_pack_text(
        body.pack, session=session, actor=principal.name, replace=body.replace
    )
    return {"imported": [s.id for s in scenarios]}


@router.get("/{scenario_id}")
def read_scenario(
    _: Annotated[Principal, require("scenario.read")], db: DbDep, scenario_id: str
) -> dict[str, Any]:
    scenario = load_catalogue(db=db).get(scenario_id)
    return scenario.model_dump(mode="json", exclude_defaults=True)


@router.post("/{scenario_id}/run")
def run(
    principal: Annotated[Principal, require("scenario.run")],
    db: DbDep,
    session: DbSession,
    scenario_id: str,
    body: RunRequest,
) -> dict[str, Any]:
    if body.department_id is not None and not principal.can("scenario.run", body.department_id):
        raise PermissionDenied("当前账号不能以该部门的名义运行场景", hint="检查 department_id")
    result = run_scenario(
        scenario_id,
        body.inputs,
        session=session,
        catalogue=load_catalogue(db=db),
        actor=principal.name,
        department_id=body.department_id,
    )
    return result.as_dict()
