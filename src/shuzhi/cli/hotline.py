"""``shuzhi hotline``: the 12345 hotline digital employee's batch job, training and demo."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shuzhi.cli.common import cli_actor, console, database, settings
from shuzhi.errors import UserError
from shuzhi.scenarios.hotline.batch import BatchResult
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD
from shuzhi.scenarios.hotline.importing import headers_for
from shuzhi.scenarios.hotline.records import ImportProblem
from shuzhi.scenarios.hotline.service import model_store, run_batch, train_and_save

app = typer.Typer(help="12345 热线数智员工：导入、派单、答复、热点", no_args_is_help=True)


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        yield bar


def _run_with_bar(**kwargs: object) -> BatchResult:
    with _progress() as bar:
        task = bar.add_task("读取文件", total=None)

        def report(done: int, total: int, stage: str) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        return run_batch(settings(), progress=report, **kwargs)  # type: ignore[arg-type]


OUTPUT_LABELS = {
    "workbook": "工单工作簿（Excel）",
    "jsonl": "工单 JSON Lines 文件",
    "report": "汇总报告（HTML）",
}
PROBLEMS_SHOWN = 10


def _print_result(result: BatchResult) -> None:
    s = result.summary()
    unusable = [p for p in result.imported.problems if not p.kept]
    table = Table(show_header=False, box=None)
    table.add_row("工单", str(s["messages"]))
    table.add_row("已派单 / 待人工复核", f"{s['dispatched']} / {s['to_review']}")
    if s["decided_by_human"]:
        manual = s["manual_dispatch"]
        rest = f"，其中 {manual} 张退回人工派单" if manual else ""
        table.add_row("人工已复核", f"{s['decided_by_human']} 张{rest}")
    table.add_row("无法使用的行", str(len(unusable)))
    table.add_row("派单模型", s["model"])
    if s["evaluation"]:
        e = s["evaluation"]
        table.add_row("本批准确率 / 宏F1", f"{e['accuracy']:.3f} / {e['macro_f1']:.3f}")
        if e.get("n_in_training"):
            table.add_row("", e["note"])
    console.print(table)

    _print_unusable(unusable)
    if s["stored"]:
        console.print(_stored_sentence(s["stored"]), soft_wrap=True)
    # Paths on lines of their own, never wrapped, so they can be copied.
    for name, path in s["outputs"].items():
        console.print(f"已写出{OUTPUT_LABELS.get(name, name)}：{path}", soft_wrap=True)


def _stored_sentence(stored: dict[str, int]) -> str:
    text = f"已写入数据库：新增 {stored['inserted']} 张工单"
    if stored["skipped"]:
        text += f"，{stored['skipped']} 张此前已导入、未重复写入（文件按数据库中的现状写出）"
    return text + f"，新建 {stored['review_tasks']} 个人工复核任务。"


def _print_unusable(problems: list[ImportProblem]) -> None:
    """Name the rows that were left out, so the clerk can fix them in the source file."""
    if not problems:
        return
    console.print(f"[yellow]以下 {len(problems)} 行无法使用，未生成工单：[/]")
    for problem in problems[:PROBLEMS_SHOWN]:
        console.print(f"  第 {problem.row} 行：{problem.reason}", soft_wrap=True, highlight=False)
    if len(problems) > PROBLEMS_SHOWN:
        rest = len(problems) - PROBLEMS_SHOWN
        console.print(f"  …… 另有 {rest} 行，完整清单见工作簿的“问题行”工作表")


@app.command("run")
def run(
    input_path: Annotated[Path, typer.Argument(help="市民留言文件（.xlsx 或 .csv）")],
    history: Annotated[
        Path | None, typer.Option("--history", help="带分类的历史工单，用于训练派单模型")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="输出目录")] = Path("hotline-out"),
    threshold: Annotated[float, typer.Option(help="低于此置信度转人工复核")] = DEFAULT_THRESHOLD,
    store: Annotated[bool, typer.Option("--store/--no-store", help="写入数据库")] = True,
    taxonomy: Annotated[
        Path | None,
        typer.Option("--taxonomy", help="部门的分类体系表（一级/二级/三级分类），用于细分类"),
    ] = None,
) -> None:
    """导入市民留言并派单，输出工作簿、JSON Lines 和 HTML 报告"""
    db = database() if store else None
    result = _run_with_bar(
        input_path=input_path,
        history=history,
        out_dir=out,
        threshold=threshold,
        db=db,
        actor=cli_actor(),
        taxonomy=taxonomy,
    )
    _print_result(result)


@app.command("train")
def train_cmd(
    labelled: Annotated[Path, typer.Argument(help="带“一级分类”列的历史工单（.xlsx 或 .csv）")],
    folds: Annotated[
        int, typer.Option(min=0, max=20, help="交叉验证折数（2 到 20）；0 表示不做")
    ] = 5,
) -> None:
    """用带分类的历史工单训练新版本的派单模型"""
    if folds == 1:
        raise UserError("交叉验证至少要 2 折", hint="用 --folds 5，或 --folds 0 不做交叉验证")
    with _progress() as bar:
        task = bar.add_task("交叉验证", total=folds or None)
        manifest, scores = train_and_save(
            labelled,
            model_store(settings()),
            folds=folds,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            headers=headers_for(settings()),
        )
    console.print(f"[green]已保存派单模型[/] {manifest.name}（{manifest.n_samples} 条样本）")
    if scores is not None:
        console.print(
            f"{scores.folds} 折交叉验证（去重后 {scores.n_samples} 条）："
            f"准确率 {scores.accuracy:.4f}，宏平均 F1 {scores.macro_f1:.4f}"
        )


@app.command("models")
def models() -> None:
    """列出已保存的派单模型版本"""
    store = model_store(settings())
    for version in store.versions():
        m = store.manifest(version)
        cv = f"宏F1 {m.cv['macro_f1']:.4f}" if m.cv else "未做交叉验证"
        console.print(f"v{m.version}  {m.trained_at}  {m.n_samples} 条  {cv}  {m.source}")


@app.command("demo")
def demo() -> None:
    """运行批量派单示例：有共享数据时用共享数据，否则用生成的样例"""
    from shuzhi.scenarios.hotline.demo import demo_inputs

    s = settings()
    inputs = demo_inputs(s)
    console.print(f"数据来源：{inputs.description}")
    result = _run_with_bar(
        input_path=inputs.input_path,
        history=inputs.history,
        out_dir=s.data_dir / "hotline-demo",
        db=database(s),
        actor=cli_actor(),
        taxonomy=inputs.taxonomy,
    )
    _print_result(result)
    _print_report_hint(result)


def _print_report_hint(result: BatchResult) -> None:
    console.print(
        f"[bold green]用浏览器打开报告查看结果：[/]{result.outputs['report']}", soft_wrap=True
    )
