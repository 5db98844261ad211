"""One error base class, rendered as RFC 9457 problem+json by one set of handlers.

A problem's ``type`` is a stable relative URI (``/problems/<slug>``); clients switch on it, never on the
title, which follows ``Accept-Language`` (``id`` gives Indonesian).
"""

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.logging import ThrottledLog

log = logging.getLogger("netral.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> (English title, Indonesian title)
TITLES: dict[str, tuple[str, str]] = {
    "unauthorized": ("Authentication required", "Autentikasi diperlukan"),
    "invalid-token": ("The access token is not valid", "Token akses tidak sah"),
    "insufficient-scope": ("The token lacks a required scope", "Token tidak memiliki cakupan yang diperlukan"),
    "forbidden": ("Not allowed", "Tidak diizinkan"),
    "not-found": ("Not found", "Tidak ditemukan"),
    "method-not-allowed": ("Method not allowed", "Metode tidak diizinkan"),
    "validation-error": ("The request is not valid", "Permintaan tidak valid"),
    "conflict": ("Conflict with the current state", "Bertentangan dengan keadaan saat ini"),
    "bad-request": ("The request could not be read", "Permintaan tidak dapat dibaca"),
    "request-timeout": ("The request body arrived too slowly", "Isi permintaan datang terlalu lambat"),
    "sanction-not-allowed": (
        "No sanction can be recorded in this case state",
        "Sanksi tidak dapat dicatat pada status kasus ini",
    ),
    "invalid-transition": ("This status change is not allowed", "Perubahan status ini tidak diizinkan"),
    "precondition-failed": ("The resource has changed", "Sumber daya telah berubah"),
    "precondition-required": ("If-Match is required", "If-Match wajib disertakan"),
    "idempotency-key-reused": (
        "The Idempotency-Key was used with another request",
        "Idempotency-Key sudah dipakai untuk permintaan lain",
    ),
    "payload-too-large": ("The request body is too large", "Isi permintaan terlalu besar"),
    "unsupported-media-type": ("Unsupported media type", "Jenis media tidak didukung"),
    "rate-limited": ("Too many requests", "Terlalu banyak permintaan"),
    "agreement-expired": (
        "The cooperation agreement does not allow this now",
        "Perjanjian kerja sama tidak mengizinkan ini sekarang",
    ),
    "agreement-not-active": ("The cooperation agreement is not in force yet", "Perjanjian kerja sama belum berlaku"),
    "evidence-purged": (
        "The evidence was deleted when its retention period ended",
        "Bukti telah dihapus karena masa retensinya berakhir",
    ),
    "evidence-tampered": ("Stored evidence no longer matches its hash", "Bukti tersimpan tidak cocok dengan hash-nya"),
    "internal-error": ("Internal error", "Kesalahan internal"),
    "unavailable": ("Service unavailable", "Layanan tidak tersedia"),
    "database-unavailable": ("The database is unavailable", "Basis data tidak tersedia"),
    "routing-not-configured": (
        "Case routing is not configured",
        "Penerusan kasus belum dikonfigurasi",
    ),
}


class FieldError(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request, e.g. `/body/asn/nip`")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["/problems/validation-error"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise anywhere; the handler renders it. Subclasses fix the slug and status."""

    slug = "internal-error"
    status = 500

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        slug: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail or self.slug)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        if slug:
            self.slug = slug
        if status:
            self.status = status


class Unauthorized(ProblemError):
    slug, status = "unauthorized", 401


class InvalidToken(ProblemError):
    slug, status = "invalid-token", 401


class InsufficientScope(ProblemError):
    slug, status = "insufficient-scope", 403


class Forbidden(ProblemError):
    slug, status = "forbidden", 403


class NotFound(ProblemError):
    slug, status = "not-found", 404


class Conflict(ProblemError):
    slug, status = "conflict", 409


class ValidationProblem(ProblemError):
    slug, status = "validation-error", 422


class PreconditionFailed(ProblemError):
    slug, status = "precondition-failed", 412


class PreconditionRequired(ProblemError):
    slug, status = "precondition-required", 428


class ServiceUnavailable(ProblemError):
    slug, status = "unavailable", 503


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problems a route declares it may return."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def wants_indonesian(request: Request) -> bool:
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip().lower()
    return first == "id" or first.startswith("id-")


MAX_FIELD_ERRORS = 100


def render_problem(
    request: Request,
    *,
    slug: str,
    status: int,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    english, indonesian = TITLES.get(slug, (HTTPStatus(status).phrase, HTTPStatus(status).phrase))
    body = Problem(
        type=f"/problems/{slug}",
        title=indonesian if wants_indonesian(request) else english,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors[:MAX_FIELD_ERRORS] if errors else errors,  # a 100-item batch can have thousands
    ).model_dump(exclude_none=True)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    408: "request-timeout",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
    503: "unavailable",
}


def _pointer(loc: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(pointer=_pointer(tuple(err.get("loc", ()))), detail=err.get("msg", "invalid"))
        for err in exc.errors()
    ]


RefusalHook = Callable[[Request, int], Awaitable[object]]


async def _no_hook(_request: Request, _status: int) -> None:
    return None


def over_source_limit(request: Request, counted: object) -> JSONResponse | None:
    """The hook counted a refusal before authentication (an object with ``count`` and ``retry_after``); past
    the per-source limit the answer is 429 with Retry-After instead."""
    count = getattr(counted, "count", None)
    if count is None or count <= request.app.state.runtime.get().settings.refusals_per_source:
        return None
    return render_problem(
        request,
        slug="rate-limited",
        status=429,
        detail="Too many refused requests from your address; wait before trying again.",
        headers={"Retry-After": str(counted.retry_after)},  # type: ignore[attr-defined]
    )


db_log = ThrottledLog(logging.getLogger("netral.database"))


def database_failure_kind(exc: Exception) -> str:
    if isinstance(exc, PoolTimeout):
        return "database-pool-exhausted"
    text = str(getattr(exc, "orig", exc)).lower()
    if getattr(exc, "connection_invalidated", False) or "connect" in text or "server closed" in text:
        return "database-unreachable"
    return "database-busy"  # reachable, but a statement timed out or lost a deadlock


def install_problem_handlers(app: FastAPI, on_refusal: RefusalHook = _no_hook) -> None:
    """``on_refusal`` is told of every refused or failed request before it is answered (the audit log's
    hook, given by app.main: core knows no feature).
    """
    audit_refusal = on_refusal

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        limited = over_source_limit(request, await audit_refusal(request, exc.status))
        if limited is not None:
            return limited
        return render_problem(
            request, slug=exc.slug, status=exc.status, detail=exc.detail, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        await audit_refusal(request, 422)
        return render_problem(
            request,
            slug="validation-error",
            status=422,
            detail="One or more fields are invalid.",
            errors=validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _STATUS_SLUGS.get(exc.status_code, "internal-error" if exc.status_code >= 500 else "bad-request")
        detail = exc.detail if isinstance(exc.detail, str) else None
        await audit_refusal(request, exc.status_code)
        return render_problem(
            request, slug=slug, status=exc.status_code, detail=detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        """The database unreachable, unresponsive past the bound, or refusing for a moment (a deadlock, a
        statement timeout): 503 with Retry-After, fast; one log line per kind a while, no traceback. A
        refusal is audited when the database can take its row; when it is away, the log line is all there
        can be."""
        kind = database_failure_kind(exc)
        db_log.warning(kind, f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).strip()[:200]}")
        if kind not in ("database-unreachable", "database-pool-exhausted"):
            await audit_refusal(request, 503)
        return render_problem(
            request,
            slug="database-unavailable",
            status=503,
            detail="The database did not answer in time; the request changed nothing. Try again shortly.",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        await audit_refusal(request, 500)
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
        return render_problem(
            request, slug="internal-error", status=500, detail="An unexpected error occurred; it has been logged."
        )


class AgreementExpired(ProblemError):
    """The agreement no longer (or not yet: slug agreement-not-active) allows this."""

    slug, status = "agreement-expired", 403
