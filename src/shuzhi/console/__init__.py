"""The console: server-rendered pages (Jinja2 + htmx + ECharts) under ``/console``.

Chinese by default, English by the switch in the header. Pages call the Python APIs of each
concern directly; the permission of every page comes from ``shuzhi.platform.permissions``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shuzhi.errors import ShuzhiError

__all__ = ["mount"]


def mount(app: FastAPI) -> None:
    """Add the console's routes, static files and HTML error pages to ``app``."""
    from shuzhi.console import (
        area_pages,
        auth_pages,
        employee_pages,
        hotline_pages,
        platform_pages,
        workorder_pages,
    )
    from shuzhi.console.web import (
        HERE,
        console_error_handler,
        console_invalid_request_handler,
        console_not_found_handler,
    )
    from shuzhi.gateway.keys import secret_key
    from shuzhi.platform.oidc import OIDCSettings, client_from_env
    from shuzhi.storage.refusals import REFUSED

    enabled = OIDCSettings().enabled
    app.state.oidc = client_from_env(secret_key(app.state.settings)) if enabled else None

    app.include_router(auth_pages.router)
    app.include_router(platform_pages.router)
    app.include_router(area_pages.router)
    app.include_router(employee_pages.router)
    app.include_router(hotline_pages.router)
    # After the batch pages: /console/workorders/{code} would otherwise take "batches" as a code.
    app.include_router(workorder_pages.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    fallback = app.exception_handlers[ShuzhiError]
    app.add_exception_handler(ShuzhiError, console_error_handler(fallback))
    for refused in (RequestValidationError, *REFUSED):
        handler = console_invalid_request_handler(app.exception_handlers[refused])
        app.add_exception_handler(refused, handler)
    http_fallback = app.exception_handlers[StarletteHTTPException]
    app.add_exception_handler(StarletteHTTPException, console_not_found_handler(http_fallback))
