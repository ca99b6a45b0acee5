"""Job kinds of the data officer: quality runs (on demand and daily) and profiling large files."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy.orm import Session

from shuzhi.dataofficer import service
from shuzhi.jobs import JobContext, job_kind, periodic
from shuzhi.validation import Name

# A dataset by its name or its number (the largest id the tables hold).
DatasetRef = (
    Annotated[Name, Field(min_length=1, max_length=128)]
    | Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
)


class QualityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: DatasetRef | None = Field(default=None, description="数据集名称或编号；省略则检查全部")


class ProfileParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: DatasetRef = Field(description="数据集名称或编号")


@job_kind(
    "data.quality",
    title="数据质量检查",
    title_en="Data quality check",
    permission="data.manage",
    params=QualityParams,
)
def quality_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run the rules of one dataset (``params.dataset``) or of every dataset that has rules."""
    with ctx.db.session() as session:
        if params.get("dataset"):
            names = [service.get_dataset(session, params["dataset"]).name]
        else:
            names = [d.name for d in service.list_datasets(session)]
    ctx.set_total(len(names))
    scores: dict[str, float | None] = {}
    for name in names:
        ctx.check()
        scores[name] = ctx.run_item(name, partial(_run_one, name=name))
    return {"scores": scores}


def _run_one(session: Session, *, name: str) -> float | None:
    dataset = service.get_dataset(session, name)
    if not any(r.enabled for r in service.rules_of(session, dataset.id)):
        return None
    return service.run_quality(session, dataset.id, triggered_by="schedule").score


@job_kind(
    "data.profile",
    title="数据集画像",
    title_en="Dataset profile",
    permission="data.manage",
    params=ProfileParams,
)
def profile_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Profile a registered dataset (large ones take minutes, so they run as a job)."""
    with ctx.db.session() as session:
        dataset = service.get_dataset(session, params["dataset"])
        profile = service.profile_dataset(session, dataset)
        return {"dataset": dataset.name, "rows": profile.rows, "seconds": profile.seconds}


# Quality is a trend: one run a day gives every dataset a score history without anyone asking.
periodic("data-quality-daily", "data.quality", every=timedelta(days=1))
