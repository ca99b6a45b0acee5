"""The registry of job kinds: ``@job_kind("hotline.batch")`` makes a function runnable as a job.

Kinds live beside the code they drive, in a module named ``jobs`` of any ``shuzhi`` package
(``shuzhi/knowledge/jobs.py``, ``shuzhi/scenarios/hotline/jobs.py`` ...). Workers and API servers
call :func:`discover` once, which imports every such module, so a kind is known everywhere without
a central list to edit.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shuzhi.errors import InvalidInput
from shuzhi.jobs.params import check_params

if TYPE_CHECKING:
    from shuzhi.jobs.context import JobContext

log = logging.getLogger(__name__)

JobFunction = Callable[["JobContext", dict[str, Any]], dict[str, Any] | None]

# Surfaces are skipped: nothing below them may depend on FastAPI, typer or Jinja2.
_SKIPPED_PACKAGES = ("shuzhi.api", "shuzhi.console", "shuzhi.cli")


@dataclass(frozen=True)
class JobKind:
    """A registered kind and how it is run."""

    name: str
    fn: JobFunction
    title: str
    max_attempts: int = 3
    backoff_seconds: float = 10.0
    permission: str | None = "job.submit"
    via: str | None = None
    params: type[BaseModel] | None = None
    title_en: str = ""

    def label(self, lang: str = "zh") -> str:
        """The kind's title as people read it (the CLI, the API and the console's pages): the
        Chinese ``title``; in English ``title_en``, else the name."""
        return self.title if lang == "zh" else self.title_en or self.name

    @property
    def submittable(self) -> bool:
        """True when people may start it through the API or CLI (not only the system)."""
        return self.permission is not None

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` checked against the kind's model (unchanged when it declares none)."""
        return params if self.params is None else check_params(self.params, params, self.title)


_KINDS: dict[str, JobKind] = {}
_discovered = False


def job_kind(
    name: str,
    *,
    title: str = "",
    max_attempts: int = 3,
    backoff_seconds: float = 10.0,
    permission: str | None = "job.submit",
    via: str | None = None,
    params: type[BaseModel] | None = None,
    title_en: str = "",
) -> Callable[[JobFunction], JobFunction]:
    """Register ``fn(ctx, params) -> dict | None`` as the job kind ``name``.

    ``title`` is the one name of the kind everywhere people read it: ``shuzhi jobs``, the API's
    ``GET /api/jobs/kinds`` and the console (``title_en`` on its English pages).
    ``permission`` is what a person needs to submit it through the API (``None``: system only,
    e.g. audit retention). ``via`` names the route that alone submits it, for a kind whose params
    hold server paths or the acting department (the generic ``POST /api/jobs`` refuses it, since
    it would take them from the caller). ``backoff_seconds`` doubles after each failed attempt.
    ``params`` is a pydantic model of what the kind takes: a submission that does not fit it is
    refused before a job exists (see :mod:`shuzhi.jobs.params`).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(fn: JobFunction) -> JobFunction:
        existing = _KINDS.get(name)
        if existing is not None and existing.fn is not fn:
            qualname = f"{existing.fn.__module__}.{existing.fn.__qualname__}"
            if qualname != f"{fn.__module__}.{fn.__qualname__}":
                raise ValueError(f"job kind {name!r} is already registered by {qualname}")
        _KINDS[name] = JobKind(
            name, fn, title or name, max_attempts, backoff_seconds, permission, via, params,
            title_en,
        )  # fmt: skip
        return fn

    return register


def discover(extra: str | None = None) -> None:
    """Import every ``shuzhi.*.jobs`` module, plus the comma-separated modules in ``extra``
    (default: the ``SHUZHI_JOBS_IMPORTS`` setting)."""
    global _discovered
    if extra is None:
        from shuzhi.jobs.settings import load_job_settings

        extra = load_job_settings().imports
    if not _discovered:
        import shuzhi

        for module in _job_modules(list(shuzhi.__path__), "shuzhi."):
            _import(module)
        _discovered = True
    for name in filter(None, (m.strip() for m in extra.split(","))):
        _import(name)


def _job_modules(path: list[str], prefix: str) -> Iterator[str]:
    """Names of the ``jobs`` modules under ``path``, found without importing other packages."""
    for info in pkgutil.iter_modules(path, prefix):
        if info.name in _SKIPPED_PACKAGES:
            continue
        if info.name.rsplit(".", 1)[-1] == "jobs":
            yield info.name
        elif info.ispkg:
            spec = importlib.util.find_spec(info.name)
            if spec is not None and spec.submodule_search_locations:
                yield from _job_modules(list(spec.submodule_search_locations), info.name + ".")


def _import(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        # One broken module must not stop the others' jobs; the operator sees why in the log.
        log.warning("job kinds in %s not loaded: %s", module, exc)


def get_kind(name: str) -> JobKind:
    kind = _KINDS.get(name)
    if kind is None:
        discover()
        kind = _KINDS.get(name)
    if kind is None:
        known = "、".join(sorted(_KINDS)) or "（无）"
        raise InvalidInput(
            f"未知的任务类型：{name!r}；可用的类型：{known}",
            hint="用 `shuzhi jobs kinds` 查看可用的任务类型",
        )
    return kind


def all_kinds() -> list[JobKind]:
    discover()
    return sorted(_KINDS.values(), key=lambda k: k.name)
