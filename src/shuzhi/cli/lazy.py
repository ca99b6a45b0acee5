"""Sub-commands imported only when used, so `shuzhi version` does not load scikit-learn.

Each entry names the module and attribute of a typer app (a command group) or a plain function
(a single command), with the one-line help shown by `shuzhi --help`.

Every help page is Chinese: our commands' help comes from their docstrings and ``help=``, and
the words typer and click add themselves (``--help``, the panel titles, ``[default: …]``) are
replaced here, since neither library ships a Chinese translation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.rich_utils
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    module: str
    attr: str
    help: str


COMMANDS: dict[str, Lazy] = {
    "start": Lazy(
        "shuzhi.cli.start", "start", "一键启动：预置员工上岗、运行热线示例任务并启动平台"
    ),
    "serve": Lazy("shuzhi.cli.serve", "serve", "启动 HTTP 接口与管理控制台"),
    "worker": Lazy("shuzhi.cli.worker", "worker", "启动任务执行进程（本机队列或 Redis）"),
    "db": Lazy("shuzhi.cli.db", "app", "数据库：迁移与状态"),
    "models": Lazy("shuzhi.cli.models", "app", "模型底座：模型服务、别名、用量"),
    "kb": Lazy("shuzhi.cli.kb", "app", "知识库：导入、检索、问答"),
    "employees": Lazy("shuzhi.cli.employees", "app", "数智员工：定义、上岗、对话"),
    "scenarios": Lazy("shuzhi.cli.scenarios", "app", "应用场景：目录、运行、评测、场景包"),
    "hotline": Lazy("shuzhi.cli.hotline", "app", "12345 热线：批量派单、训练、示例"),
    "data": Lazy("shuzhi.cli.data", "app", "AI 数据官：画像、质量、分级、问数"),
    "jobs": Lazy("shuzhi.cli.jobs", "app", "后台任务：查看、取消、重试、定时"),
    "users": Lazy("shuzhi.cli.platform", "users_app", "用户、角色与 API 密钥"),
    "departments": Lazy("shuzhi.cli.platform", "departments_app", "部门（委办局）"),
    "audit": Lazy("shuzhi.cli.platform", "audit_app", "审计日志：校验、导出、清理"),
    "reviews": Lazy("shuzhi.cli.platform", "reviews_app", "人工复核队列"),
}


HELP_OPTION_ZH = "显示本帮助并退出"
COMPLETION_ZH = {
    "install_completion": "为当前终端安装命令补全（Tab 键补全命令和选项）",
    "show_completion": "显示命令补全脚本，可复制后自行安装",
}


def chinese_help_words() -> None:
    """The words typer prints around our help texts and usage errors, in Chinese.

    They are module constants typer reads each time it prints, so setting them once, before
    the command runs, is enough.
    """
    words = {
        "ARGUMENTS_PANEL_TITLE": "参数",
        "OPTIONS_PANEL_TITLE": "选项",
        "COMMANDS_PANEL_TITLE": "命令",
        "ERRORS_PANEL_TITLE": "错误",
        "DEFAULT_STRING": "[默认：{}]",
        "ENVVAR_STRING": "[环境变量：{}]",
        "REQUIRED_LONG_STRING": "[必填]",
        "DEPRECATED_STRING": "（已弃用）",
        "ABORTED_TEXT": "已取消。",
        "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看用法。",
    }
    for name, text in words.items():
        setattr(typer.rich_utils, name, text)
    from shuzhi.cli import click_zh

    click_zh.install()  # click's usage errors (缺少参数 'name'。), not only typer's frame


def _in_chinese(command: Any, ctx: Any) -> None:
    """``--help`` of ``command`` and of every command under it in Chinese; the completion
    options, which belong to the top level alone, removed."""
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.help = HELP_OPTION_ZH
    command.params = [p for p in command.params if p.name not in COMPLETION_ZH]
    for sub in getattr(command, "commands", {}).values():
        _in_chinese(sub, ctx)


def _load(name: str, entry: Lazy, ctx: Any) -> Any:
    obj: Any = getattr(importlib.import_module(entry.module), entry.attr)
    if not isinstance(obj, typer.Typer):
        single = typer.Typer()
        single.command(name, help=entry.help if not obj.__doc__ else None)(obj)
        obj = single
    command = typer.main.get_command(obj)
    command.name = name
    _in_chinese(command, ctx)
    return command


class LazyGroup(TyperGroup):
    # ``ctx`` is typed Any: typer's vendored click and plain click name the Context class
    # differently across releases, and the override must accept whichever calls it.
    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            command = super().get_command(ctx, cmd_name)
            if command is not None:
                _in_chinese(command, ctx)
            return command
        if self._listing:  # the help page needs only the name and one line
            return TyperCommand(cmd_name, help=entry.help)
        return _load(cmd_name, entry, ctx)

    def get_params(self, ctx: Any) -> Any:
        # typer appends the completion options after building the group: translated here, when
        # the help page or the parser asks for them.
        params: list[Any] = super().get_params(ctx)
        for param in params:
            param.help = COMPLETION_ZH.get(param.name or "", param.help)
        return params

    def get_help_option(self, ctx: Any) -> Any:
        help_option = super().get_help_option(ctx)
        if help_option is not None:
            help_option.help = HELP_OPTION_ZH
        return help_option

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
