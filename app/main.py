"""The FastAPI application. ``create_app`` takes settings and a clock so tests can inject both."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Scope

from app import contract
from app.agencies.router import router as identity_router
from app.api_docs import router as docs_router
from app.audit.recorder import audit_refusal
from app.audit.router import router as audit_router
from app.audit.sealer import background as audit_background
from app.auth.router import oauth_error_response
from app.auth.router import router as oauth_router
from app.auth.service import OAuthError
from app.cases.router import router as cases_router
from app.catalogues.router import router as catalogues_router
from app.core.admission import AdmissionMiddleware
from app.core.clock import Clock
from app.core.config import Settings
from app.core.edge import EdgeLimits, EdgeMiddleware
from app.core.errors import install_problem_handlers
from app.core.logging import RequestIdMiddleware, configure_logging
from app.core.runtime import LazyRuntime, Runtime
from app.core.supervision import die_with_supervisor, freeze_startup_heap, is_worker
from app.events.router import router as events_router
from app.evidence.router import router as evidence_router
from app.health.router import router as health_router
from app.reports.router import router as reports_router
from app.stats.router import router as stats_router

API_VERSION = "1.0.0"


class NetralApp(FastAPI):
    """FastAPI, with the request-id and security-header middleware outside Starlette's error middleware, so
    the 500 answer carries them too."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = super().build_middleware_stack()
        edge = EdgeMiddleware(inner, limits=self._edge_limits, on_refusal=audit_refusal)
        return RequestIdMiddleware(
            edge, hsts=lambda: bool(self.state.runtime.get().settings.hsts), rate_limit=self._rate_limit
        )

    def _rate_limit(self, scope: Scope) -> tuple[int, int] | None:
        """The limit that applies to this request (README, "Hostile input"): the token endpoint's per source,
        an authenticated caller's per client, an anonymous API call's refusals per source; none for probes,
        keys and docs. With the seconds until its window renews."""
        runtime = self.state.runtime.get()
        settings = runtime.settings
        path = scope["path"]
        if path.startswith("/oauth/"):
            limit = settings.token_requests_per_source
        elif scope.get("state", {}).get("principal") is not None:
            limit = settings.requests_per_client
        elif path.startswith("/api/"):
            limit = settings.refusals_per_source
        else:
            return None
        window = settings.rate_window_seconds
        return limit, window - int(runtime.clock.now().timestamp()) % window

    def openapi(self) -> dict[str, Any]:
        """The generated document, completed once (app/contract.py): descriptions, examples, every problem.
        A serving app states its own batch limit; one without settings yet (``make openapi``) the default."""
        if self.openapi_schema is None:
            runtime = self.state.runtime.built()
            limit = runtime.settings.batch_max_items if runtime is not None else None
            self.openapi_schema = contract.complete(super().openapi(), batch_max_items=limit)
        return self.openapi_schema

    def _edge_limits(self) -> EdgeLimits:
        settings = self.state.runtime.get().settings
        return EdgeLimits(
            max_body_bytes=settings.max_body_bytes,
            max_evidence_bytes=settings.evidence_max_bytes,
            body_read_timeout_seconds=settings.body_read_timeout_seconds,
        )


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if is_worker():  # a fresh process spawned by `netral serve --workers N`: log as the supervisor does
            configure_logging(app.state.runtime.get().settings.log_level)
        die_with_supervisor()
        runtime = app.state.runtime.get()
        async with audit_background(runtime):
            freeze_startup_heap()
            yield
        runtime.dispose()

    app = NetralApp(
        lifespan=lifespan,
        title="Netral",
        version=API_VERSION,
        summary="Exchange of suspected ASN-neutrality violations between Kominfo, KASN and Bawaslu (PKS 2023).",
        description="Every error is `application/problem+json` (RFC 9457) except the OAuth endpoints, which "
        "answer per RFC 6749 §5.2. Send `Accept-Language: id` for Indonesian problem titles.",
        openapi_url="/openapi.json",
        docs_url=None,  # app/api_docs.py serves them without a CDN
        redoc_url=None,
    )
    app.state.runtime = LazyRuntime(Runtime.build(settings, clock) if settings else None)
    install_problem_handlers(app, on_refusal=audit_refusal)

    @app.exception_handler(OAuthError)
    async def _oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
        if exc.status == 401:
            request.state.refusal_reason = "invalid-client"  # before authentication: counted, not a row each
        await audit_refusal(request, exc.status)
        return oauth_error_response(exc)

    app.add_middleware(AdmissionMiddleware, limit=lambda: app.state.runtime.get().settings.max_concurrent_requests)
    for router in (
        oauth_router,
        identity_router,
        reports_router,
        evidence_router,
        cases_router,
        events_router,
        catalogues_router,
        stats_router,
        audit_router,
        health_router,
        docs_router,
    ):
        app.include_router(router)
    return app


app = create_app()
