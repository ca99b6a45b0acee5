"""A job's params checked when it is submitted, so a job that cannot run is never queued.

A kind declares its params as a pydantic model (``@job_kind(..., params=ProfileParams)``). The
model is applied at submission, where a mistake is a 422 before any job exists, and again when a
worker starts the job (a job queued before the model existed, or written to the table by hand),
where it fails the job at once instead of crashing inside the kind three times.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from shuzhi.errors import InvalidInput, pydantic_problem_zh


def check_params(model: type[BaseModel], params: dict[str, Any], title: str) -> dict[str, Any]:
    """``params`` as ``model`` reads them (only the keys given), or :class:`InvalidInput`."""
    try:
        checked = model.model_validate(params)
    except ValidationError as exc:
        problems = _problems(exc)
        raise InvalidInput(
            f"任务「{title}」的参数有误：" + "；".join(problems),
            hint=f"可用参数：{expected(model)}",
            problems=problems,
        ) from None
    return checked.model_dump(mode="json", exclude_unset=True)


def expected(model: type[BaseModel]) -> str:
    """The params a model takes, as an operator reads them: ``dataset（数据集名称，必填）``."""
    parts = []
    for name, field in model.model_fields.items():
        notes = [field.description] if field.description else []
        notes.append("必填" if field.is_required() else "可省略")
        parts.append(f"{name}（{'，'.join(notes)}）")
    return "、".join(parts) or "（无参数）"


def _problems(exc: ValidationError) -> list[str]:
    found: dict[str, list[str]] = {}
    for error in exc.errors():
        # A union reports once per member (``dataset.str``, ``dataset.int``): one line a field.
        field = str(error["loc"][0]) if error["loc"] else "参数"
        problems = found.setdefault(field, [])
        if _problem(error) not in problems:
            problems.append(_problem(error))
    return [f"{field}: {_either(problems)}" for field, problems in found.items()]


def _either(problems: list[str]) -> str:
    # The member whose type fitted says what is wrong with the value (too long, too large);
    # when none fitted, every type it could have been is named.
    fitted = [p for p in problems if not p.startswith("应为")]
    if fitted:
        return fitted[0]
    return "应为" + "或".join(p.removeprefix("应为") for p in problems)


def _problem(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "不认识的参数"
    return pydantic_problem_zh(error)
