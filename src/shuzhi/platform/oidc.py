"""Single sign-on with OpenID Connect (authorization-code flow), for a unified identity service.

Configured by ``SHUZHI_OIDC_ISSUER``, ``SHUZHI_OIDC_CLIENT_ID`` and ``SHUZHI_OIDC_CLIENT_SECRET``
(optionally ``SHUZHI_OIDC_USERNAME_CLAIM``, ``SHUZHI_OIDC_SCOPES``, ``SHUZHI_OIDC_AUTO_CREATE``).
ID tokens are checked here: RS256 signature against the issuer's published keys, issuer,
audience, expiry and the nonce of this sign-in. Accounts created on first sign-in hold no role
until the security admin grants one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import ConfigError, Conflict, Unauthenticated, UpstreamError
from shuzhi.platform.audit import audit
from shuzhi.platform.identity import create_user
from shuzhi.storage.db import utcnow
from shuzhi.storage.models import User

log = logging.getLogger(__name__)

CLOCK_SKEW = 60


class OIDCSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHUZHI_OIDC_", extra="ignore")

    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: str = "openid profile"
    username_claim: str = "preferred_username"
    auto_create: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)


@dataclass
class OIDCClient:
    settings: OIDCSettings
    secret_key: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    _metadata: dict[str, Any] | None = None
    _keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)

    # discovery -------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._metadata = self._get_json(url)
        return self._metadata

    def _get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(kwargs.pop("method", "GET"), url, **kwargs)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(
                f"统一身份认证服务不可用：{url}（{type(exc).__name__}）",
                hint="检查 SHUZHI_OIDC_ISSUER 与网络连通性",
            ) from exc
        return data

    # the flow --------------------------------------------------------------------------------

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """The provider URL to send the browser to, and the signed state cookie to set."""
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = urlencode({
            "response_type": "code", "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri, "scope": self.settings.scopes,
            "state": state, "nonce": nonce,
        })  # fmt: skip
        return f"{self.metadata()['authorization_endpoint']}?{query}", self._sign(state, nonce)

    def finish(self, code: str, state: str, cookie: str, redirect_uri: str) -> dict[str, Any]:
        """Exchange the code and return the verified ID-token claims."""
        expected_state, nonce = self._unsign(cookie)
        if not hmac.compare_digest(state, expected_state):
            raise Unauthenticated("单点登录状态不匹配，请重新登录")
        tokens = self._get_json(
            self.metadata()["token_endpoint"],
            method="POST",
            data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
            },
        )  # fmt: skip
        if "id_token" not in tokens:
            raise Unauthenticated("统一身份认证未返回 ID 令牌", hint="检查客户端配置的 scope")
        return self.verify_id_token(str(tokens["id_token"]), nonce)

    def _sign(self, state: str, nonce: str) -> str:
        payload = f"{state}.{nonce}.{int(time.time())}"
        mac = hmac.new(self.secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return f"{payload}.{mac}"

    def _unsign(self, cookie: str) -> tuple[str, str]:
        state, nonce, issued, mac = [*cookie.split("."), "", "", "", ""][:4]
        payload = f"{state}.{nonce}.{issued}"
        good = hmac.new(self.secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()
        fresh = issued.isdigit() and time.time() - int(issued) < 600
        if not (hmac.compare_digest(mac, good) and fresh):
            raise Unauthenticated("单点登录已过期或被篡改，请重新登录")
        return state, nonce

    # ID token --------------------------------------------------------------------------------

    def verify_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            header = json.loads(_b64(head_b64))
            claims: dict[str, Any] = json.loads(_b64(body_b64))
            signature = _b64(sig_b64)
        except ValueError as exc:
            raise Unauthenticated("ID 令牌格式错误") from exc
        if header.get("alg") != "RS256":
            raise Unauthenticated(f"不支持的 ID 令牌签名算法：{header.get('alg')}（仅 RS256）")
        key = self._key(str(header.get("kid", "")))
        try:
            signed = f"{head_b64}.{body_b64}".encode()
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise Unauthenticated("ID 令牌签名无效") from exc
        self._check_claims(claims, nonce)
        return claims

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = [
            (claims.get("iss") != self.settings.issuer, "签发方不符"),
            (self.settings.client_id not in audiences, "受众不符"),
            (float(claims.get("exp", 0)) < now - CLOCK_SKEW, "已过期"),
            (claims.get("nonce") != nonce, "nonce 不符"),
            (not claims.get("sub"), "缺少 sub"),
        ]
        for failed, reason in problems:
            if failed:
                raise Unauthenticated(f"ID 令牌校验失败：{reason}")

    def _key(self, kid: str) -> rsa.RSAPublicKey:
        if kid not in self._keys:
            # Unknown key id: the issuer may have rotated its keys, so fetch them again.
            for jwk in self._get_json(self.metadata()["jwks_uri"]).get("keys", []):
                if jwk.get("kty") == "RSA":
                    numbers = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"]))
                    self._keys[str(jwk.get("kid", ""))] = numbers.public_key()
        if kid not in self._keys:
            raise Unauthenticated("ID 令牌的签名密钥未在签发方公布")
        return self._keys[kid]


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _int(part: str) -> int:
    return int.from_bytes(_b64(part), "big")


def client_from_env(secret_key: str | None) -> OIDCClient | None:
    """The configured client, or None when single sign-on is not set up."""
    settings = OIDCSettings()
    if not settings.enabled:
        return None
    if not secret_key:
        raise ConfigError("启用单点登录需要 SHUZHI_SECRET_KEY", hint="设置一个随机长字符串")
    return OIDCClient(settings, secret_key)


def sign_in_user(
    session: Session, claims: dict[str, Any], settings: OIDCSettings, source_ip: str | None
) -> User:
    """The account for verified claims: found by subject, or created without roles."""
    subject = f"{claims['iss']}|{claims['sub']}"
    user = session.scalar(select(User).where(User.oidc_subject == subject))
    if user is None:
        user = _first_sign_in(session, claims, settings, subject)
    if not user.is_active:
        raise Unauthenticated("账号已停用，请联系系统管理员")
    user.last_login_at = utcnow()
    audit(session, "auth.login", actor=user.username, target=user.username, source_ip=source_ip,
          method="oidc")  # fmt: skip
    return user


def _first_sign_in(
    session: Session, claims: dict[str, Any], settings: OIDCSettings, subject: str
) -> User:
    if not settings.auto_create:
        raise Unauthenticated("该统一身份账号尚未开通本平台，请联系系统管理员")
    username = str(claims.get(settings.username_claim) or claims["sub"])
    if session.scalar(select(User).where(User.username == username)):
        # Never attach an SSO identity to an existing local account by name alone.
        raise Conflict(f"本地已有同名账号 {username}", hint="请系统管理员处理账号绑定")
    user = create_user(session, username, None, [], str(claims.get("name") or username))
    user.oidc_subject = subject
    audit(session, "user.create", actor="oidc", actor_kind="system", target=f"user:{username}")
    return user
