"""Sign-in, sign-out, language and password pages."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shuzhi.api.deps import SESSION_COOKIE, DbSession, client_ip, login_session
from shuzhi.api.routes.platform import set_session_cookie
from shuzhi.console.i18n import LANGUAGES
from shuzhi.console.web import LANG_COOKIE, NAV, page, redirect, render
from shuzhi.errors import ShuzhiError
from shuzhi.platform import accounts, oidc, sessions
from shuzhi.platform.identity import Principal
from shuzhi.storage.models import User

router = APIRouter(prefix="/console", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local console paths, so the sign-in page cannot be used to redirect elsewhere.
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "oidc": _oidc_enabled(request)})


def _oidc_enabled(request: Request) -> bool:
    return request.app.state.oidc is not None


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    outcome = sessions.login(session, username.strip(), password, client_ip(request))
    if outcome.user is None:
        session.commit()  # keep the failure count and its audit record
        context = {"error": outcome.message, "next": _safe_next(next), "username": username,
                   "oidc": _oidc_enabled(request)}  # fmt: skip
        return render(request, "login.html", context, status=401)
    _, token = sessions.start_session(session, outcome.user, client_ip(request))
    target = "/console/password" if outcome.user.must_change_password else _safe_next(next)
    response = redirect(target)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout")
def logout(
    request: Request, session: DbSession, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    active = login_session(request, session)
    if active is not None and hmac.compare_digest(csrf_token, active.login.csrf_token):
        sessions.end_session(session, request.cookies[SESSION_COOKIE], client_ip(request))
    response = redirect("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request) -> Response:
    back = request.headers.get("referer", "/console/")
    path = "/" + back.split("/", 3)[3] if back.count("/") >= 3 else "/console/"
    response = redirect(_safe_next(path))
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


OIDC_COOKIE = "shuzhi_oidc"


def _oidc_redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/oidc/login")
def oidc_login(request: Request) -> Response:
    client = request.app.state.oidc
    if client is None:
        return redirect("/console/login")
    url, cookie = client.start(_oidc_redirect_uri(request))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(OIDC_COOKIE, cookie, max_age=600, httponly=True, samesite="lax")
    return response


@router.get("/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request, session: DbSession, code: str = "", state: str = "", error: str = ""
) -> Response:
    client = request.app.state.oidc
    if client is None or error or not code:
        message = f"统一身份认证未完成：{error or '缺少授权码'}"
        return render(request, "login.html", {"error": message, "next": "/console/"}, 401)
    claims = client.finish(code, state, request.cookies.get(OIDC_COOKIE, ""),
                           _oidc_redirect_uri(request))  # fmt: skip
    user = oidc.sign_in_user(session, claims, client.settings, client_ip(request))
    _, token = sessions.start_session(session, user, client_ip(request), method="oidc")
    response = redirect("/console/")
    set_session_cookie(response, request, token)
    response.delete_cookie(OIDC_COOKIE)
    return response


@router.get("/")
def home(request: Request, principal: Annotated[Principal, page(None)]) -> Response:
    """Land on the page this principal works on most: the dashboard, the review queue for a
    reviewer, or else the first page they may open."""
    if not principal.can("metrics.read") and principal.can("review.decide"):
        return redirect("/console/reviews")
    for item in NAV:
        if principal.can(item.permission):
            return redirect(item.url)
    return redirect("/console/password")


@router.get("/password")
def password_form(
    request: Request, principal: Annotated[Principal, page(None)], session: DbSession
) -> Response:
    user = session.get(User, principal.user_id) if principal.user_id else None
    return render(request, "password.html", {"must": bool(user and user.must_change_password)})


@router.post("/password")
def change_password(
    request: Request,
    principal: Annotated[Principal, page(None)],
    session: DbSession,
    old_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    user = session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        return render(request, "password.html", {"error": "系统密钥没有密码"}, status=400)
    try:
        accounts.change_own_password(session, user, old_password, new_password, client_ip(request))
    except ShuzhiError as exc:
        return render(request, "_message.html", {"error": exc.message}, status=exc.status_code)
    # Done: leave the page (and its "change your password first" warning) for the landing page.
    return redirect("/console/", request)
