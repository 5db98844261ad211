"""JSON log lines with request ids. Secrets never reach a log: settings hold them as ``SecretStr`` and
requests are logged by method, route template, path (ids only), status, duration, agency code and client id:
no headers, no bodies, no query strings, nothing personal."""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics

log = logging.getLogger("netral.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "method", "route", "path", "status", "duration_ms", "agency", "client_id"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# On every response, errors included. The API serves JSON only: nothing may frame, sniff or script it.
STRICT_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The reference pages run their bundles from this server only (app/api_docs.py); the inline part is the
# page's own start-up script. Nothing from another origin may load.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
NO_STORE_PREFIXES = ("/api/", "/oauth/")


def security_headers(path: str, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", DOCS_CSP if path in DOCS_PATHS else STRICT_CSP),
    ]
    if path.startswith(NO_STORE_PREFIXES):  # personal data: never in a shared or browser cache
        headers.append((b"cache-control", b"no-store"))
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


class RequestIdMiddleware:
    """Echoes a well-formed ``X-Request-ID`` (or makes one), adds the security headers, and logs one line per
    request. It wraps the whole application, the 500 handler included, so every answer carries them."""

    def __init__(
        self,
        app: ASGIApp,
        hsts: Callable[[], bool] = lambda: False,
        rate_limit: Callable[[Scope], tuple[int, int] | None] = lambda _scope: None,
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.rate_limit = rate_limit  # (limit, seconds to the window's end) of the limit that applies, or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in security_headers(scope["path"], hsts=self.hsts()) if h[0] not in present)
                limit = self.rate_limit(scope)
                if limit is not None:  # draft-ietf-httpapi-ratelimit-headers: the quota and when it renews
                    headers.append((b"ratelimit-limit", str(limit[0]).encode()))
                    headers.append((b"ratelimit-reset", str(limit[1]).encode()))
                # Headers a dependency asked for on every response, errors included (e.g. Sunset).
                for name, value in scope.get("state", {}).get("extra_headers", {}).items():
                    headers.append((name.lower().encode(), value.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            principal = scope.get("state", {}).get("principal")
            route = getattr(scope.get("route"), "path", None) or "unmatched"  # the template: no ids in labels
            metrics.observe_request(scope["method"], route, status, seconds)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "agency": getattr(principal, "agency_code", None),
                    "client_id": getattr(principal, "client_id", None),
                },
            )


class ThrottledLog:
    """One line per kind of failure per interval, with how many were suppressed; no traceback. A database
    outage must not write 28 KB of tracebacks per request."""

    def __init__(self, logger: logging.Logger, interval_seconds: float = 30.0) -> None:
        self.logger, self.interval = logger, interval_seconds
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self.interval) < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        suppressed = self._suppressed.pop(kind, 0)
        self._last[kind] = now
        more = f" ({suppressed} more like it since the last line)" if suppressed else ""
        self.logger.warning(f"{kind}: {message}{more}")
