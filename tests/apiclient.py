"""Call the HTTP API in the test's own process as a new account holding one role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.identity import create_api_key, create_user
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database


def api_client(settings: Settings, db: Database, role: Role) -> TestClient:
    """A test client calling the API with a new account's key holding ``role``."""
    with db.session() as session:
        user = create_user(session, f"u-{role.value}", "password-123", [(role, None)])
        _, key = create_api_key(session, "test", user.id)
    client = TestClient(create_app(settings, db))
    client.headers["Authorization"] = f"Bearer {key}"
    return client
