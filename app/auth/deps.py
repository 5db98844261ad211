"""``Principal`` for routes: declare the scopes a route needs, get the verified caller."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes

from app.auth import service
from app.auth.jwt_guard import JWTRejected
from app.auth.scopes import ALL_SCOPES
from app.auth.service import Principal
from app.core.deps import NowDep, SessionDep, SettingsDep
from app.core.errors import InsufficientScope, InvalidToken, Unauthorized

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


def get_principal(
    security_scopes: SecurityScopes,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    token = _bearer(authorization)
    try:
        principal = service.resolve_principal(session, token, settings=settings, now=now)
    except JWTRejected as exc:
        raise InvalidToken(
            str(exc),
            headers={"WWW-Authenticate": f'Bearer realm="netral", error="invalid_token", error_description="{exc}"'},
        ) from exc
    request.state.principal = principal
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise InsufficientScope(
            f"This call needs the scope(s): {needed}.",
            headers={"WWW-Authenticate": f'Bearer realm="netral", error="insufficient_scope", scope="{needed}"'},
        )
    return principal


def requires(*scopes: str) -> object:
    """``Annotated[Principal, requires("cases:read")]``: the route's access rule, declared in one place."""
    return Security(get_principal, scopes=list(scopes))


AnyPrincipal = Annotated[Principal, requires()]


def requires_any(*scopes: str) -> object:
    """The caller needs at least one of these scopes (e.g. the change feed: reporters and case readers)."""

    def check(principal: AnyPrincipal) -> Principal:
        if not principal.scopes & set(scopes):
            needed = " ".join(scopes)
            raise InsufficientScope(
                f"This call needs one of the scopes: {needed}.",
                headers={"WWW-Authenticate": f'Bearer realm="netral", error="insufficient_scope", scope="{needed}"'},
            )
        return principal

    return Depends(check)
