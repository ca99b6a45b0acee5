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


def _service() -> KnowledgeService:
    config = settings()
    return KnowledgeService(database(config), config)


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(callback=printable("知识库名称"))],
    grade: Annotated[
        Grade, typer.Option(help="密级：public（公开）/ internal（内部）/ restricted（受限）")
    ] = Grade.INTERNAL,
    department_id: Annotated[int | None, typer.Option(help="所属部门编号")] = None,
    description: Annotated[
        str, typer.Option(help="说明", callback=printable("说明", multiline=True))
    ] = "",
) -> None:
    """Create a knowledge base."""
    kb = _service().create(name, department_id=department_id, grade=grade, description=description)
    console.print(f"[green]已创建知识库[/] {kb.name}，密级：{labels.grade(kb.grade)}")


@app.command("list")
def list_cmd() -> None:
    """List knowledge bases with their document and passage counts."""
    table = Table("名称", "密级", "部门", "文档", "段落")
    for kb, documents, chunks in _service().list_bases():
        row = (kb.name, labels.grade(kb.grade), str(kb.department_id or "—"))
        table.add_row(*row, str(documents), str(chunks))
    console.print(table)


@app.command("import")
def import_cmd(
    name: str,
    paths: Annotated[list[Path], typer.Argument(help="文件或文件夹，可多个")],
) -> None:
    """Import files and folders; unchanged files are skipped, changed files replaced."""
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
    name: str,
    query: str,
    k: Annotated[int, typer.Option("-k", help="返回条数")] = 5,
    all_versions: Annotated[bool, typer.Option(help="包含已被新版本取代的旧版本")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """Top passages with document title, article and date."""
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
    name: str,
    question: str,
    offline: Annotated[bool, typer.Option(help="不调用大模型，只给出原文摘录")] = False,
) -> None:
    """Answer from the knowledge base: a grounded model answer, or cited extracts offline."""
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
    console.print(answer.text, highlight=False)
    if answer.mode.value == "model" and answer.citations:
        console.print("\n[bold]依据：[/]" + "；".join(p.citation for p in answer.citations))


@app.command("evaluate")
def evaluate_cmd(
    name: str,
    questions: Annotated[Path, typer.Argument(help="评测问题 YAML（q、doc、article）")],
    k: Annotated[int, typer.Option("-k")] = 5,
) -> None:
    """Recall@k and MRR of the base on questions with known answers."""
    service = _service()
    items = load_questions(questions)
    report = EvalReport(k, [score(q, service.search(name, q.q, k=k)) for q in items])
    console.print(f"问题 {len(items)}；recall@{k} = {report.recall:.3f}；MRR = {report.mrr:.3f}")
    for miss in report.misses:
        console.print(
            f"[red]未命中[/] {miss.question.q} → 期望 {miss.question.doc} {miss.question.article}"
        )


@app.command("reindex")
def reindex_cmd(name: str) -> None:
    """Rebuild the search index of a base from its stored passages."""
    count = _service().reindex(name)
    console.print(f"[green]已重建索引[/]：{count} 个段落")


@app.command("delete")
def delete_cmd(
    name: str, yes: Annotated[bool, typer.Option("--yes", help="确认删除")] = False
) -> None:
    """Delete a knowledge base with all its documents."""
    if not yes:
        raise UserError(
            f"删除知识库 {name} 不可恢复：确认删除请加 --yes（shuzhi kb delete {name} --yes）"
        )
    _service().delete(name)
    console.print(f"已删除知识库 {name}")
