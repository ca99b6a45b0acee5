"""Settings: environment variables ``SHUZHI_*`` over an optional ``shuzhi.toml`` over defaults.

The TOML file is looked up at ``$SHUZHI_CONFIG`` or ``./shuzhi.toml``. Every setting has a working
embedded default, so a fresh machine needs none of them.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shuzhi.errors import ConfigError, pydantic_problem_zh

SUPPORTED_DATABASES = ("sqlite", "postgresql")
_URL_EXAMPLES = (
    "应形如 postgresql+psycopg://user:password@127.0.0.1:5432/shuzhi 或 sqlite:////path/shuzhi.db，"
    "不设置则使用数据目录中的 SQLite"
)


def hide_password(url: str) -> str:
    """The URL with any ``user:password@`` password starred, even when it does not parse."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _default_data_dir() -> Path:
    return Path.home() / ".shuzhi"


def _config_file() -> Path:
    return Path(os.environ.get("SHUZHI_CONFIG", "shuzhi.toml"))


class Settings(BaseSettings):
    """Everything an operator can set. Field names map to ``SHUZHI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SHUZHI_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means a SQLite file in the data directory.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = Field(
        default=None,
        description="Encrypts stored endpoint API keys and signs console sessions. "
        "Generated into the data directory when unset.",
    )
    place: str = Field(default="济南市", description="The deployment's city, for ranking laws.")
    province: str = "山东省"
    kb_thesaurus: Path | None = Field(
        default=None,
        description="The deployment's own colloquial → legal thesaurus (YAML), merged over the "
        "shipped one. Unset: <data_dir>/kb_thesaurus.yaml when that file exists.",
    )
    hotline_headers: Path | None = Field(
        default=None,
        description="The deployment's own column names for hotline work-order fields (YAML, "
        "field: [列名, …]), tried before the shipped ones. Unset: "
        "<data_dir>/hotline_headers.yaml when that file exists.",
    )
    redis_url: str | None = Field(default=None, description="Enables the Redis job queue.")
    conversation_keep_days: int = Field(
        default=180,
        ge=0,
        le=36500,
        description="Days a conversation with no new turn is kept before it is deleted "
        "(0: forever). One waiting for a person's review is kept until it is decided.",
    )
    upload_keep_days: int = Field(
        default=30,
        ge=0,
        le=36500,
        description="Days an uploaded hotline batch file is kept (0: forever); the work "
        "orders and outputs made from it stay.",
    )
    log_level: str = "INFO"
    data_sources: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Databases the data officer may register tables from: SQLite files or "
        "folders, PostgreSQL URLs (host, port, database). Empty: only SQLite files under "
        "<data_dir>/imports/. The platform's own database is refused whatever this says.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a port that is no number
            raise ValueError(f"无法解析 {hide_password(value)!r}；{_URL_EXAMPLES}") from exc
        if backend not in SUPPORTED_DATABASES:
            shown = hide_password(value)
            raise ValueError(f"不支持的数据库 {backend!r}（{shown!r}）；{_URL_EXAMPLES}")
        return value

    @field_validator("kb_thesaurus", "hotline_headers", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_sources", mode="before")
    @classmethod
    def _split_data_sources(cls, value: Any) -> Any:
        # From the environment: a JSON list, or entries separated by commas or semicolons.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in re.split(r"[,;]", text) if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"应以 redis://、rediss:// 或 unix:// 开头，收到 {hide_password(value)!r}；"
                "如 redis://127.0.0.1:6379/0，不设置则任务在本机数据库队列中运行"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'shuzhi.db'}"

    @property
    def is_embedded_database(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; a bad one becomes one line naming it, its problem and what is expected."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "；".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"配置有误（环境变量或 shuzhi.toml）：{problems}") from exc


def _describe(err: Any) -> str:
    name = "SHUZHI_" + "_".join(str(part) for part in err["loc"]).upper()
    return f"{name} {pydantic_problem_zh(err)}"  # our validators' own messages pass through


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
