"""Endpoint API keys at rest: Fernet encryption with a key derived from ``settings.secret_key``.

When ``SHUZHI_SECRET_KEY`` is unset a random secret is generated once into ``<data_dir>/secret_key``
(mode 0600) and reused, so an embedded installation needs no setup. Losing that file makes stored
endpoint keys unreadable; the error says so and how to re-enter them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from shuzhi.config import Settings
from shuzhi.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_FILE = "secret_key"


def secret_key(settings: Settings) -> str:
    """The deployment's secret: the setting, or the generated one in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    log.info("generated a new secret key in %s", path)
    return value


def _fernet(settings: Settings) -> Fernet:
    digest = hashlib.sha256(("shuzhi-endpoint-keys:" + secret_key(settings)).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_api_key(settings: Settings, plain: str) -> str:
    return _fernet(settings).encrypt(plain.encode()).decode()


def decrypt_api_key(settings: Settings, token: str, endpoint: str) -> str:
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigError(
            f"模型服务 {endpoint} 保存的 API 密钥无法解密（SHUZHI_SECRET_KEY 或数据目录中的"
            " secret_key 文件已变更）",
            hint=f"恢复原来的密钥，或运行 `shuzhi models update {endpoint} --api-key ...` 重新录入",
        ) from exc


def resolve_api_key(
    settings: Settings, endpoint: str, encrypted: str | None, env_name: str | None
) -> str | None:
    """The plain key for a call: decrypted from storage, or read from the named variable."""
    if encrypted:
        return decrypt_api_key(settings, encrypted, endpoint)
    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise ConfigError(
                f"模型服务 {endpoint} 的 API 密钥应来自环境变量 {env_name}，但该变量未设置",
                hint=f"设置环境变量 {env_name}，或改为保存加密密钥",
            )
        return value
    return None
