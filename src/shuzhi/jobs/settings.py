"""Settings of the job system, read from ``SHUZHI_JOBS_*`` environment variables.

They sit beside :class:`shuzhi.config.Settings` (whose ``redis_url`` switches the queue to Redis)
because only workers and the scheduler read them. Every one has a working default.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """Tuning for workers, leases and the Redis queue. Field names map to ``SHUZHI_JOBS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SHUZHI_JOBS_", extra="ignore")

    namespace: str = Field(
        default="shuzhi",
        description="Prefix of every Redis key; deployments sharing one Redis need distinct ones.",
    )
    threads: int = Field(
        default=4, ge=1, le=256, description="Jobs one worker process runs at once."
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A job whose worker stops renewing its lease this long is taken over.",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Idle wait of the database queue.")
    sweep_seconds: float = Field(
        default=15.0, gt=0, description="How often expired leases and stuck jobs are looked for."
    )
    resend_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Redis: a due job not started this long after its message gets another one.",
    )
    heartbeat_timeout_ms: int = Field(
        default=15000,
        ge=1000,
        description="Redis: a worker silent this long is dead and its messages are requeued.",
    )
    embedded_worker: bool = Field(
        default=True,
        description="Without Redis, `shuzhi serve` runs jobs in-process; false leaves it to "
        "`shuzhi worker`.",
    )
    imports: str = Field(
        default="",
        description="Extra comma-separated modules that register job kinds.",
    )


def load_job_settings() -> JobSettings:
    return JobSettings()
