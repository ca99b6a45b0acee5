"""``shuzhi kb``: knowledge bases — create, import, search, ask, evaluate, reindex."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shuzhi.aigc import visible_label
from shuzhi.cli import labels
from shuzhi.cli.common import console, database, printable, settings
from shuzhi.errors import UserError
from shuzhi.knowledge import Grade, KnowledgeService, Passage, SearchFilters
from shuzhi.knowledge.evaluation import EvalReport, load_questions, score

app = typer.Typer(help="知识库：创建、导入、检索、问答", no_args_is_help=True)

KbName = Annotated[str, typer.Argument(help="知识库名称，见 shuzhi kb list")]


def _service() -> KnowledgeService:
    config = settings()
    return KnowledgeService(database(config), config)


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="知识库名称", callback=printable("知识库名称"))],
    grade: Annotated[
        Grade, typer.Option(help="密级：public（公开）/ internal（内部）/ restricted（受限）")
    ] = Grade.INTERNAL,
    department_id: Annotated[int | None, typer.Option(help="所属部门编号")] = None,
    description: Annotated[
        str, typer.Option(help="说明", callback=printable("说明", multiline=True))
    ] = "",
) -> None:
    """创建知识库"""
    kb = _service().create(name, department_id=department_id, grade=grade, description=description)
    console.print(f"[green]已创建知识库[/] {kb.name}，密级：{labels.grade(kb.grade)}")


@app.command("list")
def list_cmd() -> None:
    """列出知识库及其文档数、段落数"""
    table = Table("名称", "密级", "部门", "文档", "段落")
    for kb, documents, chunks in _service().list_bases():
        row = (kb.name, labels.grade(kb.grade), str(kb.department_id or "—"))
        table.add_row(*row, str(documents), str(chunks))
    console.print(table)


@app.command("import")
def import_cmd(
    name: KbName,
    paths: Annotated[list[Path], typer.Argument(help="文件或文件夹，可多个")],
) -> None:
    """导入文件和文件夹；未改动的文件跳过，改动过的替换"""
    service = _service()
    columns = (
        TextColumn("[bold]导入"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, key: str) -> None:
            bar.update(task, completed=done, total=total, description=Path(key).name[:40])

        report = service.import_paths(name, paths, progress=progress)
    console.print(
        f"[green]完成[/]：{report.seen} 个文件，新增 {report.added}，更新 {report.replaced}，"
        f"未变 {report.unchanged}，失败 {len(report.failed)}；段落 {report.chunks}"
    )
    if report.skipped:
        console.print(f"[dim]跳过 {len(report.skipped)} 个目录索引文件（_index.md，不是正文）[/]")
    if report.removed:
        removed = len(report.removed)
        console.print(f"已移除此前导入的 {removed} 个目录索引文件（_index.md，不是正文）")
    for note in report.notes:
        console.print(f"[yellow]注意[/] {note.path}：{note.message}", highlight=False)
    for failure in report.failed:
        console.print(f"[red]失败[/] {failure.path}：{failure.message}", highlight=False)
    if report.seen == 0:
        console.print("[yellow]没有找到可导入的文件[/]（支持 md、txt、html、docx、pdf、xlsx、csv）")
    if report.failed or report.seen == 0:
        raise typer.Exit(1)  # a script running the import must see that something went wrong


def _print_passages(passages: list[Passage]) -> None:
    for i, p in enumerate(passages, start=1):
        console.print(
            f"[bold cyan][{i}] {p.citation}[/]  [dim]{p.jurisdiction}[/]", highlight=False
        )
        console.print(p.text, highlight=False)
        console.print()


@app.command("search")
def search_cmd(
    name: KbName,
    query: Annotated[str, typer.Argument(help="检索词或问题")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="返回条数")] = 5,
    all_versions: Annotated[bool, typer.Option(help="包含已被新版本取代的旧版本")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """检索最相关的段落，显示文档标题、条款和日期"""
    filters = SearchFilters(all_versions=all_versions)
    passages = _service().search(name, query, k=k, filters=filters)
    if as_json:
        rows = [{**p.as_source(), "text": p.text} for p in passages]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not passages:
        console.print("没有找到相关内容")
    else:
        _print_passages(passages)


@app.command("ask")
def ask_cmd(
    name: KbName,
    question: Annotated[str, typer.Argument(help="问题")],
    offline: Annotated[bool, typer.Option(help="不调用大模型，只给出原文摘录")] = False,
) -> None:
    """依据知识库回答：有模型服务时生成注明出处的回答，离线时给出原文摘录"""
    config = settings()
    db = database(config)
    service = KnowledgeService(db, config)
    gateway = None
    if not offline:
        from shuzhi.gateway import Gateway

        candidate = Gateway(db, config)
        gateway = candidate if candidate.available("chat") else None
    answer = service.ask(name, question, gateway=gateway)
    console.print(f"[yellow]{visible_label(answer.mode)}[/]", highlight=False)
    if answer.rewrites:
        searched = "；".join(answer.rewrites)
        console.print(f"[dim]检索改写（大模型）：{searched}[/]", highlight=False)
    console.print(answer.text, highlight=False)
    if answer.mode.value == "model" and answer.citations:
        console.print("\n[bold]依据：[/]" + "；".join(p.citation for p in answer.citations))


@app.command("evaluate")
def evaluate_cmd(
    name: KbName,
    questions: Annotated[Path, typer.Argument(help="评测问题 YAML（q、doc、article）")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="按前几条计算")] = 5,
) -> None:
    """用已知答案的问题评测检索效果：Recall@k 与 MRR"""
    service = _service()
    items = load_questions(questions)
    report = EvalReport(k, [score(q, service.search(name, q.q, k=k)) for q in items])
    console.print(f"问题 {len(items)}；recall@{k} = {report.recall:.3f}；MRR = {report.mrr:.3f}")
    for miss in report.misses:
        console.print(
            f"[red]未命中[/] {miss.question.q} → 期望 {miss.question.doc} {miss.question.article}"
        )


@app.command("reindex")
def reindex_cmd(name: KbName) -> None:
    """用已保存的段落重建知识库的检索索引"""
    count = _service().reindex(name)
    console.print(f"[green]已重建索引[/]：{count} 个段落")


@app.command("delete")
def delete_cmd(
    name: KbName, yes: Annotated[bool, typer.Option("--yes", help="确认删除")] = False
) -> None:
    """删除知识库及其全部文档"""
    if not yes:
        raise UserError(
            f"删除知识库 {name} 不可恢复：确认删除请加 --yes（shuzhi kb delete {name} --yes）"
        )
    _service().delete(name)
    console.print(f"已删除知识库 {name}")
