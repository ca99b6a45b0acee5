"""Walk every route of the full application with every role and compare with the permission table.

A route either names a permission through ``require(...)`` (the matrix must then hold: roles
granted it get through, every other role gets 403 and an anonymous caller 401), or it is on one
of the explicit allow-lists below. A new route without either fails this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.platform.identity import create_api_key
from shuzhi.platform.permissions import PERMISSIONS, roles_for
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.platform.helpers import user

# Routes anyone may call: health, sign-in, the OpenAPI description and the docs pages.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/oidc/login"),
    ("GET", "/api/auth/oidc/callback"),
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("GET", "/console/lang/{lang}"),
    ("GET", "/console/oidc/login"),
    ("GET", "/console/oidc/callback"),
}
# Routes for any signed-in principal, whatever their roles: about themselves only.
SIGNED_IN = {
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/password"),
    ("GET", "/console/"),
    ("GET", "/console/password"),
    ("POST", "/console/password"),
}


def _permission_of(dependant: Any) -> str | None:
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission:
            return str(permission)
        found = _permission_of(dep)
        if found:
            return found
    return None


def _routes(app: Any) -> Iterator[tuple[str, str, str | None]]:
    """(method, path, permission) for every effective route, through included routers."""
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, Mount) or ctx.path is None:
            continue
        dependant = getattr(ctx, "dependant", None)
        permission = _permission_of(dependant) if dependant is not None else None
        for method in sorted((ctx.methods or {"GET"}) - {"HEAD"}):
            yield method, ctx.path, permission


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def _call(client: TestClient, method: str, path: str, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    response = client.request(method, _url(path), headers=headers, json=body,
                              follow_redirects=False)  # fmt: skip
    return response.status_code


@pytest.fixture
def keys(db: Database) -> dict[Role, str]:
    result = {}
    with db.session() as session:
        for role in Role:
            holder = user(session, f"u-{role.value}", (role, None))
            _, plain = create_api_key(session, f"k-{role.value}", holder.id)
            result[role] = plain
    return result


def test_every_route_is_classified(settings: Settings, db: Database) -> None:
    app = create_app(settings, db)
    unclassified = [
        (m, p) for m, p, perm in _routes(app)
        if perm is None and (m, p) not in PUBLIC | SIGNED_IN and not p.startswith("/static")
        and not p.startswith("/console/static")
    ]  # fmt: skip
    assert unclassified == [], "routes without require(...) and not on an allow-list"
    used = {perm for _, _, perm in _routes(app) if perm}
    assert used <= set(PERMISSIONS)


def test_permission_matrix(settings: Settings, db: Database, keys: dict[Role, str]) -> None:
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    failures = []
    for method, path, permission in _routes(client.app):
        if permission is None:
            continue
        allowed = roles_for(permission)
        if _call(client, method, path, None) not in (401, 303):
            failures.append((method, path, "anonymous", "not refused"))
        for role, key in keys.items():
            status = _call(client, method, path, key)
            if role in allowed and status in (401, 403):
                failures.append((method, path, role.value, f"refused {status}"))
            if role not in allowed and status != 403:
                failures.append((method, path, role.value, f"admitted {status}"))
    assert failures == []


def test_signed_in_routes_need_a_principal(settings: Settings, db: Database) -> None:
    client = TestClient(create_app(settings, db), raise_server_exceptions=False)
    present = {(m, p) for m, p, _ in _routes(client.app)}
    assert ("GET", "/api/auth/me") in present
    for method, path in SIGNED_IN & present:
        assert _call(client, method, path, None) in (401, 303), (method, path)
