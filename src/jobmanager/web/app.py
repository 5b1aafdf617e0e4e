"""The app factory: settings are read and checked here, at start-up, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from jobmanager import __version__
from jobmanager.api.body_limit import BodyLimit
from jobmanager.api.deps import ActiveClients, authenticate
from jobmanager.api.errors import error_responses, install_error_handlers
from jobmanager.api.event_feed import StreamHub
from jobmanager.api.metrics_registry import metrics_registry
from jobmanager.api.openapi import install_openapi
from jobmanager.api.request_metrics import RequestMetrics
from jobmanager.api.routes import (
    auth,
    configurations,
    dataexchange,
    health,
    identity,
    jobs,
    metrics,
    models,
    schedules,
    webhooks,
)
from jobmanager.api.security_headers import SecurityHeaders
from jobmanager.api.session_renewal import SessionRenewal
from jobmanager.api.sign_in import SignInGuard
from jobmanager.console.app import mount_console
from jobmanager.service.runtime import Runtime
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings

log = logging.getLogger("jobmanager")

# Routers under /api that need an authenticated caller.
SECURED_ROUTERS: tuple[APIRouter, ...] = (
    identity.router,
    configurations.router,
    dataexchange.router,
    jobs.router,
    schedules.router,
    webhooks.router,
    models.router,
)


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    runtime: Runtime | None = None,
) -> FastAPI:
    """The service's app. Its lifespan starts the runtime (job slots, reaper, scheduler)."""
    settings = settings or Settings()
    services = services or Services.open(settings)
    runtime = runtime or Runtime(services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title="jobmanager",
        version=__version__,
        description="Job Manager v3, Model Management v3, Data Exchange v3 and environments",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.active_clients = ActiveClients()
    app.state.sign_ins = SignInGuard(services.store, services.settings)
    app.state.event_streams = StreamHub()
    app.state.runtime = runtime
    app.state.dispatcher = runtime.dispatcher
    by_tenant = services.settings.metrics_token is not None  # only token holders see tenants
    app.state.metrics = metrics_registry(
        services.store.stats,
        runtime.pool,
        tenant_labels=by_tenant,
        alive_within=services.settings.heartbeat_timeout_seconds,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(BodyLimit, limit=settings.max_json_bytes)
    app.add_middleware(RequestMetrics)
    app.add_middleware(SessionRenewal, idle_seconds=settings.session_idle_seconds)
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    # Any secured call can be refused for its input, its credentials or a missing XSRF header.
    secured = APIRouter(
        dependencies=[Depends(authenticate)], responses=error_responses(400, 401, 403)
    )
    for router in SECURED_ROUTERS:
        secured.include_router(router)
    app.include_router(secured)
    mount_console(app)
    return app
