"""``shuzhi models``: the model base from the operator's terminal.

Changes are audited as ``cli:<login name>``. The quickest start with DeepSeek needs no command
at all: set ``SHUZHI_MODEL_BASE_URL``, ``SHUZHI_MODEL_NAME`` and ``SHUZHI_MODEL_API_KEY``.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from shuzhi.cli.common import cli_actor, console, database, settings
from shuzhi.errors import InvalidInput, ShuzhiError, pydantic_problem_zh
from shuzhi.gateway import Caller, ChatRequest, Gateway
from shuzhi.gateway.catalog import load_catalog
from shuzhi.gateway.registry import (
    AliasSpec,
    EndpointSpec,
    EndpointUpdate,
    add_endpoint,
    remove_alias,
    remove_endpoint,
    set_alias,
    update_endpoint,
)
from shuzhi.gateway.usage import GROUPS, summarize_usage
from shuzhi.storage.db import utcnow

S = TypeVar("S", bound=BaseModel)

app = typer.Typer(help="模型底座：模型服务、别名、用量", no_args_is_help=True)

Kind = Annotated[str, typer.Option(help="chat（对话）、reasoning（推理）或 embedding（向量）")]
ZONE_HELP = "inside（政务网内）或 outside（政务网外，发送前脱敏）"
Zone = Annotated[str, typer.Option(help=ZONE_HELP)]
EndpointName = Annotated[str, typer.Argument(help="模型服务名称")]
AliasName = Annotated[str, typer.Argument(help="别名")]


# The schema's fields that the commands take under another name.
_OPTIONS = {
    "name": "名称",
    "endpoints": "模型服务",
    "rpm_limit": "--rpm",
    "timeout_s": "--timeout",
    "max_retries": "--retries",
    "price_cached_input": "--price-cached",
    "api_key": "API 密钥",
    "enabled": "--enable/--disable",
    "is_default": "--default",
}


def _validated(schema: type[S], command: str, /, **fields: Any) -> S:
    """``schema(**fields)``, or one Chinese line naming each refused option as it was typed."""
    try:
        return schema(**fields)
    except ValidationError as exc:
        problems = "；".join(f"{_option(e['loc'])}：{pydantic_problem_zh(e)}" for e in exc.errors())
        raise InvalidInput(
            f"参数有误：{problems}", hint=f"运行 `shuzhi models {command} --help` 查看各项的写法"
        ) from exc


def _option(loc: tuple[int | str, ...]) -> str:
    field = str(loc[0]) if loc else ""
    where = "".join(f"[{p}]" for p in loc[1:])  # an item of a list: 模型服务[1]
    return _OPTIONS.get(field, "--" + field.replace("_", "-")) + where


@app.command("list")
def list_cmd() -> None:
    """列出模型服务（含网络区域与限额）和别名（含回退链）"""
    cfg = settings()
    with database(cfg).session() as session:
        catalog = load_catalog(session, cfg)
    table = Table("名称", "类型", "对端模型", "地址", "网络", "脱敏", "并发", "来源", "状态")
    for e in catalog.endpoints.values():
        state = "停用" if not e.enabled else ("密钥不可用" if e.key_error else "可用")
        table.add_row(e.name, e.kind, e.model, e.base_url, e.trust_zone, "是" if e.mask else "否",
                      str(e.max_concurrency), e.source, state)  # fmt: skip
    console.print(table)
    aliases = Table("别名", "类型", "回退链", "默认", "来源")
    for a in catalog.aliases.values():
        aliases.add_row(a.name, a.kind, " → ".join(a.endpoints), "是" if a.is_default else "",
                        a.source)  # fmt: skip
    console.print(aliases)
    if not catalog.endpoints:
        console.print(
            "[yellow]尚未配置模型服务：平台以离线方式运行。[/]用 `shuzhi models add` 添加。"
        )


@app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="唯一名称，如 city-vllm-v3")],
    base_url: Annotated[str, typer.Option(help="OpenAI 协议地址，如 https://api.deepseek.com")],
    model: Annotated[str, typer.Option(help="对端的模型名，如 deepseek-chat")],
    kind: Kind = "chat",
    trust_zone: Zone = "outside",
    api_key_env: Annotated[str | None, typer.Option(help="从该环境变量读取 API 密钥")] = None,
    ask_key: Annotated[bool, typer.Option(help="交互输入 API 密钥（加密保存）")] = False,
    max_concurrency: Annotated[int, typer.Option(help="同时进行的请求数上限")] = 8,
    rpm: Annotated[int | None, typer.Option(help="每分钟请求数上限")] = None,
    timeout: Annotated[float, typer.Option(help="单次请求超时（秒）")] = 60.0,
    retries: Annotated[int, typer.Option(help="同一服务的重试次数")] = 2,
    price_input: Annotated[float, typer.Option(help="每百万输入 token 价格")] = 0.0,
    price_cached: Annotated[float, typer.Option(help="每百万缓存命中输入 token 价格")] = 0.0,
    price_output: Annotated[float, typer.Option(help="每百万输出 token 价格")] = 0.0,
) -> None:
    """添加模型服务；API 密钥加密保存，或从环境变量读取"""
    api_key = getpass.getpass("API 密钥：") if ask_key else None
    spec = _validated(
        EndpointSpec, "add", name=name, base_url=base_url, model=model, kind=kind,
        trust_zone=trust_zone, api_key=api_key, api_key_env=api_key_env,
        max_concurrency=max_concurrency,
        rpm_limit=rpm, timeout_s=timeout, max_retries=retries, price_input=price_input,
        price_cached_input=price_cached, price_output=price_output,
    )  # fmt: skip
    cfg = settings()
    with database(cfg).session() as session:
        add_endpoint(session, cfg, spec, actor=cli_actor())
    console.print(f"[green]已添加模型服务[/] {name}（{kind}，{trust_zone}）")


@app.command("update")
def update_cmd(
    name: EndpointName,
    base_url: Annotated[str | None, typer.Option(help="新的 OpenAI 协议地址")] = None,
    model: Annotated[str | None, typer.Option(help="新的对端模型名")] = None,
    trust_zone: Annotated[str | None, typer.Option(help=ZONE_HELP)] = None,
    ask_key: Annotated[bool, typer.Option(help="重新输入 API 密钥")] = False,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="启用或停用")] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="同时进行的请求数上限")] = None,
    timeout: Annotated[float | None, typer.Option(help="单次请求超时（秒）")] = None,
) -> None:
    """修改模型服务；没有给出的选项保持不变"""
    fields = {"base_url": base_url, "model": model, "trust_zone": trust_zone, "enabled": enable,
              "max_concurrency": max_concurrency, "timeout_s": timeout}  # fmt: skip
    given = {k: v for k, v in fields.items() if v is not None}
    if ask_key:
        given["api_key"] = getpass.getpass("新的 API 密钥（留空则删除）：")
    change = _validated(EndpointUpdate, "update", **given)
    cfg = settings()
    with database(cfg).session() as session:
        update_endpoint(session, cfg, name, change, actor=cli_actor())
    console.print(f"[green]已更新[/] {name}：{', '.join(sorted(given)) or '无变化'}")


@app.command("remove")
def remove_cmd(name: EndpointName) -> None:
    """删除不再被任何别名使用的模型服务"""
    with database().session() as session:
        remove_endpoint(session, name, actor=cli_actor())
    console.print(f"[green]已删除模型服务[/] {name}")


@app.command("alias")
def alias_cmd(
    name: Annotated[str, typer.Argument(help="别名，如 gov-chat")],
    endpoints: Annotated[list[str], typer.Argument(help="按顺序尝试的模型服务")],
    kind: Kind = "chat",
    default: Annotated[bool, typer.Option(help="设为该类型的默认别名")] = False,
    description: Annotated[str, typer.Option(help="别名说明")] = "",
) -> None:
    """创建或替换别名及其回退链，如 gov-chat city-v3 deepseek-api"""
    spec = _validated(AliasSpec, "alias", name=name, endpoints=endpoints, kind=kind,
                      is_default=default, description=description)  # fmt: skip
    with database().session() as session:
        set_alias(session, spec, actor=cli_actor())
    console.print(f"[green]已设置别名[/] {name}：{' → '.join(endpoints)}")


@app.command("unalias")
def unalias_cmd(name: AliasName) -> None:
    """删除别名"""
    with database().session() as session:
        remove_alias(session, name, actor=cli_actor())
    console.print(f"[green]已删除别名[/] {name}")


@app.command("test")
def test_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="要测试的服务；默认全部")] = None,
) -> None:
    """向每个模型服务发一个简短问题，报告回答或失败原因"""
    cfg = settings()
    gateway = Gateway(database(cfg), cfg, backoff_base=0.2)
    targets = names or [
        e.name for e in gateway.catalog().endpoints.values() if e.kind != "embedding"
    ]
    if not targets:
        raise InvalidInput("没有可测试的对话模型服务", hint="先用 `shuzhi models add` 添加")
    failed = 0
    for name in targets:
        failed += _test_one(gateway, name)
    gateway.close()
    if failed:
        raise typer.Exit(1)


def _test_one(gateway: Gateway, name: str) -> int:
    question = ChatRequest(
        messages=[{"role": "user", "content": "请回复“正常”两个字。"}],
        model=name,
        max_tokens=16,
        caller=Caller("user", cli_actor()),
    )
    try:
        result = gateway.chat_sync(question)
    except ShuzhiError as exc:
        console.print(f"[red]✗[/] {name}：{exc.message}", highlight=False)
        return 1
    console.print(f"[green]✓[/] {name}：{result.latency_ms:.0f} ms，回复 {result.content[:40]!r}")
    return 0


@app.command("chat")
def chat_cmd(
    question: Annotated[str, typer.Argument(help="问题")],
    model: Annotated[str | None, typer.Option(help="别名或服务名；默认对话别名")] = None,
    think: Annotated[bool | None, typer.Option("--think/--no-think", help="推理开关")] = None,
) -> None:
    """向模型底座提一个问题（与其他调用一样脱敏、计量和记录）"""
    cfg = settings()
    gateway = Gateway(database(cfg), cfg)
    request = ChatRequest(messages=[{"role": "user", "content": question}], model=model,
                          thinking=think, caller=Caller("user", cli_actor()))  # fmt: skip

    async def run() -> None:
        async for chunk in gateway.stream(request):
            if chunk.reset:
                console.print("\n[yellow]（服务中断，改由备用模型重新回答）[/]")
            console.print(chunk.reasoning, style="dim", end="", highlight=False)
            console.print(chunk.content, end="", highlight=False)
            if chunk.result is not None:
                result = chunk.result
                console.print(f"\n[dim]— {result.endpoint}，{result.usage.total_tokens} tokens，"
                              f"{result.latency_ms:.0f} ms，AI 生成内容[/]")  # fmt: skip
        await gateway.aclose()

    asyncio.run(run())
    gateway.close()


@app.command("usage")
def usage_cmd(
    by: Annotated[str, typer.Option(help="汇总方式：" + "、".join(GROUPS))] = "endpoint",
    days: Annotated[int, typer.Option(help="最近多少天")] = 7,
) -> None:
    """最近若干天的调用次数、token 用量和费用"""
    with database().session() as session:
        rows = summarize_usage(session, group_by=by, since=utcnow() - timedelta(days=days))
    table = Table(by, "调用", "失败", "输入 token", "缓存命中", "输出 token", "费用", "平均耗时 ms")
    for r in rows:
        table.add_row(str(r.key), str(r.calls), str(r.failed), str(r.prompt_tokens),
                      str(r.cached_tokens), str(r.completion_tokens), f"{r.cost:.4f}",
                      f"{r.latency_ms_avg:.0f}")  # fmt: skip
    console.print(table)


@app.command("scripted-server")
def scripted_server_cmd(
    port: Annotated[int, typer.Option(help="监听端口（仅 127.0.0.1）")] = 9999,
) -> None:
    """运行脚本模型服务（OpenAI 兼容，回显问题），供演示和测试"""
    from shuzhi.gateway.testing import ScriptedModelServer

    console.print(f"脚本模型服务：http://127.0.0.1:{port}/v1（回显提问；Ctrl+C 退出）")
    ScriptedModelServer(port=port).serve_forever()
