"""``Principal`` for routes: declare the scopes a route needs, get the verified caller."""

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.access import policy
from app.access.policy import Principal
from app.access.roles import ALL_SCOPES
from app.agreements.models import AgreementState
from app.auth import client_limits, service
from app.auth.jwt_guard import JWTRejected
from app.core.deps import now_of, runtime_of
from app.core.errors import InsufficientScope, InvalidToken, ProblemError, Unauthorized
from app.core.runtime import Runtime
from app.unit_of_work import SessionDep


class RateLimited(ProblemError):
    slug, status = "rate-limited", 429


oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes={s: s for s in ALL_SCOPES})
    ),
    scheme_name="agencyClientCredentials",
    description="OAuth 2.0 client credentials (client secret or private_key_jwt); RFC 9068 JWT access tokens.",
    auto_error=False,
)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer access token is required.", headers={"WWW-Authenticate": 'Bearer realm="netral"'})
    return token.strip()


async def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    session: SessionDep,  # every authenticated request has its unit of work, and so its audit row
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    runtime, now = runtime_of(request), now_of(request)
    token = _bearer(authorization)
    try:
        principal = await _resolve(runtime, session, token, now)
    except JWTRejected as exc:
        raise InvalidToken(
            str(exc),
            headers={"WWW-Authenticate": f'Bearer realm="netral", error="invalid_token", error_description="{exc}"'},
        ) from exc
    request.state.principal = principal
    retry_after = client_limits.limiter(runtime).hit(principal.client_id, now)
    if retry_after is not None:
        request.state.refusal_reason = "client-rate-limited"
        raise RateLimited(
            "Your client has made too many requests in this window; wait before trying again.",
            headers={"Retry-After": str(retry_after)},
        )
    note_agreement(request, principal, now)
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing and all(s in principal.scopes_before_agreement for s in missing):
        raise policy.refusal(principal.agreement)
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise InsufficientScope(
            f"This call needs the scope(s): {needed}.",
            headers={"WWW-Authenticate": f'Bearer realm="netral", error="insufficient_scope", scope="{needed}"'},
        )
    return principal


async def _resolve(runtime: Runtime, session: Session, token: str, now: datetime) -> Principal:
    """On PostgreSQL, from the event loop: the authorisation version (one prebuilt statement on the async
    driver), then the cache alone, which answers for every token seen before at this version. Otherwise (a
    first sight, a moved version, SQLite) in the request's own session on a worker thread, loading what the
    cache lacks (on SQLite inside the request's one transaction, so its write lock is taken once)."""
    cache = service.principal_cache(runtime)
    if runtime.async_db is not None:
        cache.at_version(await runtime.async_db.scalar(service.AUTH_VERSION))
        principal = service.cached_principal(cache, token, settings=runtime.settings, now=now)
        if principal is not None:
            return principal
    return await run_in_threadpool(
        service.resolve_principal, session, token, settings=runtime.settings, now=now, cache=cache
    )


SUNSET_WARNING_DAYS = 30


def note_agreement(request: Request, principal: Principal, now: datetime) -> None:
    """RFC 8594 ``Sunset`` on every response under an agreement that will end; a warning in its last 30 days."""
    agreement = principal.agreement.agreement
    if agreement is None or principal.agreement.state != AgreementState.active:
        return
    headers = {"Sunset": format_datetime(agreement.valid_until.astimezone(UTC), usegmt=True)}
    days_left = (agreement.valid_until - now).days
    if days_left < SUNSET_WARNING_DAYS:
        headers["Warning"] = f'299 netral "Agreement {agreement.code} ends in {days_left} day(s)"'
    request.state.extra_headers = headers


def requires(*scopes: str) -> object:
    """``Annotated[Principal, requires("cases:read")]``: the route's access rule, declared in one place."""
    return Security(get_principal, scopes=list(scopes))


AnyPrincipal = Annotated[Principal, requires()]


def requires_any(*scopes: str) -> object:
    """The caller needs at least one of these scopes (e.g. the change feed: reporters and case readers)."""

    async def check(principal: AnyPrincipal) -> Principal:
        if not principal.scopes & set(scopes):
            needed = " ".join(scopes)
            raise InsufficientScope(
                f"This call needs one of the scopes: {needed}.",
                headers={"WWW-Authenticate": f'Bearer realm="netral", error="insufficient_scope", scope="{needed}"'},
            )
        return principal

    return Depends(check)
