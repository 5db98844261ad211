"""OAuth endpoints. Form-encoded per RFC 6749; errors are RFC 6749 §5.2 JSON, never FastAPI's 422."""

import base64
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from app.audit import flood
from app.audit.recorder import client_ip
from app.auth import keys, service
from app.auth.schemas import JWKS, OAuthErrorResponse, TokenResponse
from app.auth.service import ASSERTION_TYPE, Credentials, OAuthError
from app.core import routes
from app.core.deps import NowDep, RuntimeDep, SettingsDep
from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.core.text import has_control_character
from app.unit_of_work import SessionDep

router = routes.router(tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The longest value each form parameter may have (tokens and assertions: the largest NETRAL_MAX_TOKEN_BYTES);
# a longer one is invalid_request, and the contract says so.
FIELD_MAX = {
    "grant_type": 64,
    "scope": 1000,
    "client_id": 200,
    "client_secret": 512,
    "client_assertion_type": 128,
    "client_assertion": 16384,
    "token": 16384,
    "token_type_hint": 64,
}
OTHER_FIELD_MAX = 1000
FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string", "description": "Space-separated scopes; default: all grantable"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "description": "client_secret_post"},
                        "client_assertion_type": {"type": "string", "enum": [ASSERTION_TYPE]},
                        "client_assertion": {"type": "string", "description": "private_key_jwt (RFC 7523)"},
                    },
                }
            }
        },
    }
}
REVOKE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string"},
                        "token_type_hint": {"type": "string"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "client_assertion_type": {"type": "string"},
                        "client_assertion": {"type": "string"},
                    },
                }
            }
        },
    }
}
for _body in (FORM_BODY, REVOKE_BODY):
    for _name, _property in _body["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
        "properties"
    ].items():
        _property["maxLength"] = FIELD_MAX[_name]

OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorResponse, "description": "invalid_request, invalid_scope, unsupported_grant_type"},
    401: {"model": OAuthErrorResponse, "description": "invalid_client"},
}


async def oauth_form(request: Request) -> dict[str, str]:
    """Parsed here (not by FastAPI) so that every malformed request gets an RFC 6749 error."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in fields:
            raise OAuthError("invalid_request", f"parameter {name} is repeated")
        fields[name] = str(value)
        if has_control_character(fields[name]):  # RFC 6749 Appendix A: every parameter is printable
            raise OAuthError("invalid_request", f"parameter {name} holds a control character")
        if len(fields[name]) > FIELD_MAX.get(name, OTHER_FIELD_MAX):
            raise OAuthError(
                "invalid_request", f"parameter {name} is longer than {FIELD_MAX.get(name, OTHER_FIELD_MAX)}"
            )
    return fields


FormDep = Annotated[dict[str, str], Depends(oauth_form)]


def _credentials(request: Request, form: dict[str, str]) -> Credentials:
    methods = []
    basic = _basic_auth(request.headers.get("authorization"))
    if basic:
        methods.append(Credentials(client_id=basic[0], secret=basic[1]))
    if "client_secret" in form:
        methods.append(Credentials(client_id=form.get("client_id"), secret=form["client_secret"]))
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        methods.append(Credentials(client_id=form.get("client_id"), assertion=form["client_assertion"]))
    if len(methods) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if not methods:
        raise OAuthError("invalid_client", "client authentication is required", 401)
    return methods[0]


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    user, password = unquote_plus(user), unquote_plus(password)  # RFC 6749 §2.3.1: form-urlencoded first
    if not sep or has_control_character(user) or has_control_character(password):
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    return user, password


class TooManyTokenRequests(ProblemError):
    slug, status = "rate-limited", 429


def _limit_per_source(request: Request, runtime: Runtime, now: datetime) -> None:
    """The token endpoint is where secrets are guessed: every request counts against its source address,
    with a stricter limit than other refusals (NETRAL_TOKEN_REQUESTS_PER_SOURCE per window)."""
    hit = flood.count(
        runtime.engine,
        scope="token",
        key=client_ip(request) or "unknown",
        status=429,
        now=now,
        window_seconds=runtime.settings.rate_window_seconds,
    )
    if hit.count > runtime.settings.token_requests_per_source:
        request.state.refusal_reason = "token-rate-limited"
        raise TooManyTokenRequests(
            "Too many token requests from your address; wait before trying again.",
            headers={"Retry-After": str(hit.retry_after)},
        )


@router.post(
    "/oauth/token",
    operation_id="issue_token",
    summary="Obtain an access token (client credentials)",
    response_model=TokenResponse,
    responses=OAUTH_ERRORS,
    openapi_extra=FORM_BODY,
)
def issue_token(request: Request, form: FormDep, session: SessionDep, runtime: RuntimeDep, now: NowDep) -> JSONResponse:
    _limit_per_source(request, runtime, now)
    if form.get("grant_type") != "client_credentials":
        if "grant_type" not in form:
            raise OAuthError("invalid_request", "grant_type is required")
        raise OAuthError("unsupported_grant_type", "only client_credentials is supported")
    client = service.authenticate(session, _credentials(request, form), settings=runtime.settings, now=now)
    issued = service.issue_token(
        session, client, requested=form.get("scope"), settings=runtime.settings, signer=keys.signer(runtime), now=now
    )
    request.state.client_id = client.client_id
    body = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope)
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.post(
    "/oauth/revoke",
    operation_id="revoke_token",
    summary="Revoke an access token (RFC 7009)",
    status_code=200,
    responses={200: {"description": "Revoked, or nothing to revoke (the answer is the same)"}, **OAUTH_ERRORS},
    openapi_extra=REVOKE_BODY,
)
def revoke_token(request: Request, form: FormDep, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    client = service.authenticate(session, _credentials(request, form), settings=settings, now=now)
    if not form.get("token"):
        raise OAuthError("invalid_request", "token is required")
    service.revoke(session, client, form["token"], settings=settings, now=now)
    return Response(status_code=200, headers=NO_STORE)


@router.get(
    "/.well-known/jwks.json",
    operation_id="get_jwks",
    summary="Public keys that sign access tokens",
    response_model=JWKS,
)
def get_jwks(session: SessionDep, now: NowDep) -> JSONResponse:
    document = keys.jwks_document(keys.published_keys(session, now=now))
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


def oauth_error_response(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="netral"'
    body = OAuthErrorResponse(error=exc.error, error_description=exc.description)
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)
