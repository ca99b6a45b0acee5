"""The FastAPI application. Routers of each concern are mounted here and nowhere else."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from shuzhi import __version__
from shuzhi.api.employee_models import EmployeeModels
from shuzhi.api.errors import install_error_handlers
from shuzhi.api.routes import data as data_routes
from shuzhi.api.routes import employees as employee_routes
from shuzhi.api.routes import health
from shuzhi.api.routes import hotline as hotline_routes
from shuzhi.api.routes import jobs as jobs_routes
from shuzhi.api.routes import knowledge as knowledge_routes
from shuzhi.api.routes import models as models_routes
from shuzhi.api.routes import openai_compat as openai_routes
from shuzhi.api.routes import platform as platform_routes
from shuzhi.api.routes import scenarios as scenario_routes
from shuzhi.config import Settings
from shuzhi.console import mount as mount_console
from shuzhi.gateway.virtual import register_virtual_source
from shuzhi.privacy.logs import install as mask_personal_data_in_logs
from shuzhi.storage.db import Database


def create_app(settings: Settings, db: Database) -> FastAPI:
    # The docs pages load Swagger UI and ReDoc from files shipped in fastapi-offline, never from a
    # CDN: government intranets have no internet access.
    app = FastAPIOffline(
        title="shuzhi 数智",
        version=__version__,
        description="政务数智员工平台：OpenAI 兼容的 /v1 与管理接口 /api",
        favicon_url="/console/static/favicon.svg",
    )
    app.state.settings = settings
    app.state.db = db
    mask_personal_data_in_logs()  # also when served by ``uvicorn --factory``, not our CLI
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(jobs_routes.router)
    jobs_routes.install(app)
    app.include_router(platform_routes.router)
    app.include_router(platform_routes.metrics_router)
    mount_console(app)
    app.include_router(data_routes.router)
    app.include_router(scenario_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(models_routes.router)
    app.include_router(hotline_routes.router)
    app.include_router(knowledge_routes.router)
    app.include_router(employee_routes.router)
    # Employees on duty answer on /v1 as models; looked up per call, so no restart is needed.
    register_virtual_source("employees", EmployeeModels())
    return app
