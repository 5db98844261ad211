"""The edge: what every request must pass before it may use a worker slot, a thread or the database.

- **Body size.** A declared ``Content-Length`` over the limit is refused unread (413); a chunked body is
  counted as it arrives and refused the moment it passes the limit. The limit is
  ``NETRAL_MAX_BODY_BYTES`` (1 MiB) for JSON, ``NETRAL_EVIDENCE_MAX_BYTES`` for the evidence upload.
- **Authentication before the body.** A call under ``/api/`` that carries no bearer token of a JWT's shape
  is refused (401) before a byte of its body is read: an anonymous caller cannot make the service read and
  parse 50 MB, nor learn the field list from a 422.
- **Slow bodies.** The body is read here, whole, before the request takes one of the process's admission
  slots (app/core/admission.py); each chunk must arrive within ``NETRAL_BODY_READ_TIMEOUT_SECONDS``
  (408 otherwise). A client sending a byte a second holds its own connection, never a slot that
  authenticated work or the health probes need. (Slow *headers* never reach the application: the reverse
  proxy's header timeout bounds them, deploy/.)
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import over_source_limit, render_problem

_JWT_SHAPE = re.compile(rb"^bearer +[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$", re.IGNORECASE)
EVIDENCE_PATH = "/api/v1/evidence"


@dataclass(frozen=True)
class EdgeLimits:
    max_body_bytes: int
    max_evidence_bytes: int
    body_read_timeout_seconds: float


class Refused(Exception):
    def __init__(self, slug: str, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.slug, self.status, self.detail, self.headers = slug, status, detail, headers or {}


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limits: Callable[[], EdgeLimits],
        on_refusal: Callable[[Request, int], Awaitable[object]],
    ) -> None:
        self.app, self.limits, self.on_refusal = app, limits, on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            self._authenticated_first(scope)
            body = await self._read_body(scope, receive)
        except Refused as refused:
            await self._refuse(scope, refused, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _authenticated_first(self, scope: Scope) -> None:
        if not scope["path"].startswith("/api/"):
            return  # /oauth authenticates the client from the (small, form-encoded) body itself
        authorization = dict(scope["headers"]).get(b"authorization", b"")
        if not _JWT_SHAPE.match(authorization):
            raise Refused(
                "unauthorized",
                401,
                "A bearer access token is required.",
                {"WWW-Authenticate": 'Bearer realm="netral"'},
            )

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limits = self.limits()
        limit = limits.max_evidence_bytes if scope["path"] == EVIDENCE_PATH else limits.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise Refused("payload-too-large", 413, f"The body may be at most {limit} bytes.")
        chunks, size = [], 0
        while True:
            with anyio.move_on_after(limits.body_read_timeout_seconds) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise Refused(
                    "request-timeout", 408, f"No part of the body arrived for {limits.body_read_timeout_seconds} s."
                )
            if message["type"] == "http.disconnect":
                raise Refused("bad-request", 400, "The client went away before sending its body.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused("payload-too-large", 413, f"The body may be at most {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, refused: Refused, send: Send) -> None:
        request = Request(scope)
        response = over_source_limit(request, await self.on_refusal(request, refused.status)) or render_problem(
            request, slug=refused.slug, status=refused.status, detail=refused.detail, headers=refused.headers
        )
        if refused.status in (408, 413):
            response.headers["Connection"] = "close"  # the rest of that body is not read
        await response(scope, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay
