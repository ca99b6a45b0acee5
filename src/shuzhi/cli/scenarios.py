"""``shuzhi scenarios``: browse, run and evaluate the catalogue; export and import packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from shuzhi.cli import labels
from shuzhi.cli.common import cli_actor, console, database, unwritable
from shuzhi.errors import InvalidInput, json_error_zh, os_error_zh, reason_zh
from shuzhi.scenarios import (
    FIELD_NAMES_ZH,
    Catalogue,
    EvalReport,
    FieldId,
    ScenarioDef,
    evaluate,
    export_pack,
    import_pack,
    load_catalogue,
    run_scenario,
)

app = typer.Typer(help="场景目录：浏览、运行、评测、场景包导入导出", no_args_is_help=True)
ScenarioId = Annotated[str, typer.Argument(help="场景编号，见 shuzhi scenarios list")]
pack_app = typer.Typer(
    help="场景包：把一组场景连同规则和用例导出为一个文件，或导入", no_args_is_help=True
)
app.add_typer(pack_app, name="pack")


def _catalogue(with_db: bool) -> Catalogue:
    return load_catalogue(db=database()) if with_db else load_catalogue()


def summary(scenario: ScenarioDef) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "field": scenario.field.value,
        "field_zh": FIELD_NAMES_ZH[scenario.field],
        "name_zh": scenario.name.zh,
        "name_en": scenario.name.en,
        "department": scenario.department,
        "employee": scenario.employee,
        "version": scenario.version,
        "flagship": scenario.flagship,
        "human_gate": scenario.human_gate.value,
        "manual_minutes": scenario.manual_minutes,
        "cases": len(scenario.cases),
    }


def _field_table(field_id: FieldId, scenarios: list[ScenarioDef]) -> Table:
    """One field's scenarios. The id is never cut (``run`` takes it); the other cells wrap."""
    table = Table(
        title=f"{FIELD_NAMES_ZH[field_id]}（{field_id.value}）：{len(scenarios)} 个",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("编号", no_wrap=True)
    table.add_column("名称", overflow="fold", min_width=12)  # never squeezed to one character
    table.add_column("人工把关", min_width=8, overflow="fold")
    table.add_column("用例", no_wrap=True, justify="right")
    for s in scenarios:
        star = "★" if s.flagship else ""
        name = f"{star}{s.name.zh}\n[dim]{s.department} · {s.employee}[/]"
        table.add_row(s.id, name, labels.gate(s.human_gate.value), str(len(s.cases)))
    return table


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出整个目录")] = False,
    field: Annotated[str | None, typer.Option(help="只看一个领域，如 social")] = None,
    installed: Annotated[bool, typer.Option(help="包含从场景包导入到数据库的场景")] = False,
) -> None:
    """按领域列出场景目录"""
    catalogue = _catalogue(installed)
    groups = catalogue.by_field()
    if field is not None:
        groups = {_field(field): groups[_field(field)]}
    if as_json:
        items = [summary(s) for scenarios in groups.values() for s in scenarios]
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    for field_id, scenarios in groups.items():
        console.print(_field_table(field_id, scenarios))
    console.print(f"共 {sum(len(v) for v in groups.values())} 个场景")


def _field(value: str) -> FieldId:
    try:
        return FieldId(value)
    except ValueError:
        names = "、".join(f.value for f in FieldId)
        raise InvalidInput(f"没有领域 {value}", hint=f"可选：{names}") from None


@app.command("show")
def show_cmd(scenario_id: ScenarioId) -> None:
    """查看一个场景：输入、步骤、规则及其法律依据、用例"""
    s = load_catalogue().get(scenario_id)
    console.print(f"[bold]{s.name.zh}[/]（{s.name.en}） {s.id} v{s.version}")
    console.print(f"领域：{FIELD_NAMES_ZH[s.field]}  部门：{s.department}  员工：{s.employee}")
    gate = labels.gate(s.human_gate.value)
    console.print(f"人工把关：{gate}  替代人工用时：{s.manual_minutes} 分钟")
    if s.description:
        console.print(s.description.strip())
    audience = "群众（一网通办前台可转来）" if s.audience == "citizen" else "工作人员"
    console.print(f"面向：{audience}")
    if s.asks:
        console.print("[bold]群众常见问法[/]  " + "；".join(s.asks), highlight=False)
    console.print("[bold]输入[/]")
    for spec in s.inputs:
        mark = "" if spec.required else "（选填）"
        bounds = f"  取值{spec.range_zh()}" if spec.min is not None or spec.max is not None else ""
        console.print(f"  {spec.name}: {spec.type}  {spec.label}{mark}{bounds}")
    console.print("[bold]步骤[/]  " + " → ".join(step.kind for step in s.steps))
    for name, table in s.rules.items():
        console.print(f"[bold]规则表 {name}[/]（{table.hit}）")
        for row in table.rows:
            console.print(f"  {row.id}: {row.when}  —— {row.source.cite()}", highlight=False)
    console.print(f"[bold]评测用例[/] {len(s.cases)} 个：" + "；".join(c.name for c in s.cases))


@app.command("run")
def run_cmd(
    scenario_id: ScenarioId,
    input_file: Annotated[Path, typer.Option("--input", "-i", help="输入 JSON 文件")],
    store: Annotated[bool, typer.Option(help="把结果写入数据库并按需生成复核任务")] = False,
) -> None:
    """用 JSON 文件中的输入运行场景，以 JSON 输出结果"""
    inputs = _read_json(input_file)
    result = run_scenario(
        scenario_id, inputs, db=database() if store else None, actor=cli_actor(), catalogue=None
    )
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))


def _read_json(path: Path) -> dict[str, Any]:
    hint = '输入文件应为 JSON 对象，如 {"question": "..."}'
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InvalidInput(f"无法读取输入文件 {path}：{os_error_zh(exc)}", hint="检查路径") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"输入文件 {path} {reason_zh(exc)}", hint=hint) from exc
    except json.JSONDecodeError as exc:
        reason = json_error_zh(exc)
        raise InvalidInput(f"输入文件 {path} 不是合法 JSON：{reason}", hint=hint) from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"输入文件 {path} 应为 JSON 对象（键值对）")
    return data


@app.command("eval")
def eval_cmd(
    scenario_ids: Annotated[list[str] | None, typer.Argument(help="场景编号")] = None,
    all_: Annotated[bool, typer.Option("--all", help="评测全部场景")] = False,
    field: Annotated[str | None, typer.Option(help="评测一个领域")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出报告")] = False,
) -> None:
    """离线运行场景自带的评测用例，按场景和领域输出通过率"""
    catalogue = load_catalogue()
    ids = _selection(catalogue, scenario_ids, all_, field)
    with Progress(
        TextColumn("评测"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("eval", total=len(ids))
        report = evaluate(
            ids, catalogue=catalogue, progress=lambda done, _t: bar.update(task, completed=done)
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _selection(
    catalogue: Catalogue, ids: list[str] | None, all_: bool, field: str | None
) -> list[str]:
    if all_:
        return sorted(catalogue.scenarios)
    if field is not None:
        return [s.id for s in catalogue.by_field()[_field(field)]]
    if not ids:
        raise InvalidInput(
            "请指定场景编号，或使用 --all / --field", hint="shuzhi scenarios eval --all"
        )
    return ids


def _print_report(report: EvalReport) -> None:
    table = Table(title="场景评测（离线）")
    for column in ("领域", "场景数", "全部通过", "用例通过", "通过率"):
        table.add_column(column)
    for field_id, row in report.by_field().items():
        table.add_row(
            f"{FIELD_NAMES_ZH[FieldId(field_id)]}（{field_id}）",
            str(row["scenarios"]),
            str(row["scenarios_ok"]),
            f"{row['cases_passed']}/{row['cases_total']}",
            f"{row['pass_rate']:.0%}",
        )
    console.print(table)
    for failure in report.failures():
        console.print(
            f"[red]✗[/] {failure.scenario_id} / {failure.case}：{'；'.join(failure.problems)}"
        )
    console.print(
        f"共 {len(report.scenarios)} 个场景，用例 {report.cases_passed}/{report.cases_total} 通过"
    )


@pack_app.command("export")
def pack_export_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="场景包文件（.yaml）")],
    scenario_ids: Annotated[list[str] | None, typer.Argument(help="场景编号")] = None,
    field: Annotated[str | None, typer.Option(help="导出一个领域的全部场景")] = None,
    name: Annotated[str, typer.Option(help="场景包名称")] = "场景包",
) -> None:
    """把场景连同规则和用例导出为一个场景包文件"""
    catalogue = load_catalogue()
    ids = _selection(catalogue, scenario_ids, False, field)
    pack = export_pack(ids, name=name, catalogue=catalogue)
    try:
        output.write_text(pack, encoding="utf-8")
    except OSError as exc:
        raise unwritable(output, exc) from exc
    console.print(f"[green]已导出 {len(ids)} 个场景[/] → {output}")


@pack_app.command("import")
def pack_import_cmd(
    path: Annotated[Path, typer.Argument(help="场景包文件（.yaml）")],
    replace: Annotated[bool, typer.Option(help="覆盖已安装的同编号场景")] = False,
) -> None:
    """把场景包导入本部署的数据库（其中每个用例须先通过）"""
    scenarios = import_pack(path, db=database(), actor=cli_actor(), replace=replace)
    console.print(
        f"[green]已导入 {len(scenarios)} 个场景[/]：" + "、".join(s.id for s in scenarios)
    )
