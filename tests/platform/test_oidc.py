from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.errors import Unauthenticated
from shuzhi.platform.oidc import OIDCClient, OIDCSettings
from shuzhi.storage.db import Database
from shuzhi.storage.models import AuditRecord, User
from tests.platform.fake_oidc import FakeProvider


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    with FakeProvider() as fake:
        monkeypatch.setenv("SHUZHI_OIDC_ISSUER", fake.issuer)
        monkeypatch.setenv("SHUZHI_OIDC_CLIENT_ID", fake.client_id)
        monkeypatch.setenv("SHUZHI_OIDC_CLIENT_SECRET", fake.client_secret)
        yield fake


def _begin(client: TestClient) -> dict[str, str]:
    start = client.get("/console/oidc/login", follow_redirects=False)
    assert start.status_code == 303
    query = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
    assert query["client_id"] == "shuzhi" and query["response_type"] == "code"
    return query


def test_single_sign_on_creates_a_role_less_account(
    settings: Settings, db: Database, provider: FakeProvider
) -> None:
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    assert "/console/oidc/login" in client.get("/console/login").text
    query = _begin(client)
    provider.grant("code-1", query["nonce"], sub="u-42", preferred_username="wang", name="王五")
    done = client.get(
        "/console/oidc/callback", params={"code": "code-1", "state": query["state"]},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303, done.text
    me = client.get("/api/auth/me").json()
    assert me["username"] == "wang" and me["roles"] == []
    with db.session() as session:
        wang = session.scalar(select(User).where(User.username == "wang"))
        assert wang is not None and wang.oidc_subject == f"{provider.issuer}|u-42"
        assert wang.password_hash is None
        login = session.scalar(select(AuditRecord).where(AuditRecord.action == "auth.login"))
        assert login is not None and login.detail["method"] == "oidc"


def test_state_mismatch_and_replayed_code_are_refused(
    settings: Settings, db: Database, provider: FakeProvider
) -> None:
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    query = _begin(client)
    provider.grant("code-2", query["nonce"], sub="u-1")
    forged = client.get("/console/oidc/callback", params={"code": "code-2", "state": "forged"},
                        follow_redirects=False)  # fmt: skip
    assert forged.status_code == 303 and "/console/login" in forged.headers["location"]
    assert client.get("/api/auth/me").status_code == 401


def test_id_token_checks(provider: FakeProvider) -> None:
    settings = OIDCSettings(issuer=provider.issuer, client_id="shuzhi", client_secret="s3cret")
    client = OIDCClient(settings, "secret")
    good = provider.id_token({"sub": "a", "nonce": "n"})
    assert client.verify_id_token(good, "n")["sub"] == "a"
    with pytest.raises(Unauthenticated, match="nonce"):
        client.verify_id_token(good, "other")
    with pytest.raises(Unauthenticated, match="过期"):
        client.verify_id_token(provider.id_token({"sub": "a", "nonce": "n", "exp": 1}), "n")
    with pytest.raises(Unauthenticated, match="受众"):
        client.verify_id_token(provider.id_token({"sub": "a", "nonce": "n", "aud": "x"}), "n")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated, match="签名"):
        client.verify_id_token(provider.id_token({"sub": "a", "nonce": "n"}, stranger), "n")
