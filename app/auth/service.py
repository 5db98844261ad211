"""OAuth 2.0 client credentials (RFC 6749 §4.4) with client secrets or private_key_jwt (RFC 7523),
RFC 9068 access tokens, RFC 7009 revocation, and the per-request principal."""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from jose.utils import base64url_decode
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.access.policy import Principal
from app.access.roles import Role, scopes_for_roles
from app.agencies import service as agencies
from app.agencies.models import Agency, AgencyRole
from app.agreements import service as agreements
from app.agreements.models import Agreement, AgreementExtension, AgreementParty, AgreementState
from app.auth import clients, keys
from app.auth.jwt_guard import (
    ACCESS_TOKEN_TYP,
    JWTRejected,
    VerificationPolicy,
    Verified,
    read_unverified_header,
    verify_jwt,
)
from app.auth.models import ApiClient, AuthVersion, RevokedToken, SigningKey, UsedAssertion
from app.core.clock import as_utc
from app.core.config import Settings
from app.core.runtime import Runtime
from app.core.text import has_control_character

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_CLAIMS = ("iss", "aud", "sub", "client_id", "iat", "exp", "jti", "scope")


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


# ---- client authentication -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    client_id: str | None
    secret: str | None = None
    assertion: str | None = None


def authenticate(session: Session, creds: Credentials, *, settings: Settings, now: datetime) -> ApiClient:
    if creds.assertion is not None:
        return _authenticate_assertion(session, creds, settings=settings, now=now)
    if not creds.client_id or creds.secret is None:
        raise OAuthError("invalid_client", "client authentication is required", 401)
    client = clients.by_client_id(session, creds.client_id)
    if not clients.secret_matches(settings, client, creds.secret):
        raise OAuthError("invalid_client", "client authentication failed", 401)
    assert client is not None
    return _enabled(client)


def _enabled(client: ApiClient) -> ApiClient:
    if client.disabled_at is not None:
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return client


def _authenticate_assertion(session: Session, creds: Credentials, *, settings: Settings, now: datetime) -> ApiClient:
    assert creds.assertion is not None
    try:
        unverified_sub = _unverified_subject(creds.assertion, settings)
        client = clients.by_client_id(session, creds.client_id or unverified_sub)
        if client is None or client.public_jwk is None or client.client_id != unverified_sub:
            raise JWTRejected("unknown client or no key registered")
        claims = verify_jwt(
            creds.assertion,
            resolve_key=lambda _kid: (client.public_jwk or {}, _alg_for(client.public_jwk or {})),
            policy=VerificationPolicy(
                issuers={client.client_id},
                audiences={settings.issuer, settings.token_url},
                required_claims=("iss", "sub", "aud", "exp", "jti"),
                max_lifetime_seconds=settings.assertion_max_lifetime_seconds,
                leeway_seconds=settings.leeway_seconds,
                max_bytes=settings.max_token_bytes,
            ),
            now=now,
        )
        if claims["exp"] > now.timestamp() + settings.assertion_max_lifetime_seconds:
            raise JWTRejected("assertion expires too far in the future")
    except JWTRejected as exc:
        raise OAuthError("invalid_client", f"client assertion rejected: {exc}", 401) from exc
    _remember_assertion(
        session,
        client_id=client.client_id,
        jti=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=now.tzinfo),
    )
    return _enabled(client)


def _unverified_subject(assertion: str, settings: Settings) -> str:
    read_unverified_header(assertion, settings.max_token_bytes)
    try:
        claims = json.loads(base64url_decode(assertion.split(".")[1].encode()))
    except ValueError as exc:
        raise JWTRejected("malformed assertion") from exc
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str):
        raise JWTRejected("assertion has no subject")
    if has_control_character(sub):
        raise JWTRejected("malformed assertion")
    return sub


def _alg_for(public_jwk: dict[str, Any]) -> str:
    return "RS256" if public_jwk.get("kty") == "RSA" else "ES256"


def _remember_assertion(session: Session, *, client_id: str, jti: str, expires_at: datetime) -> None:
    """The unique constraint is the replay guard: it holds across every server process. The insert runs in
    a savepoint so a replay fails cleanly without spoiling the request's transaction."""
    try:
        with session.begin_nested():
            session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError as exc:
        raise OAuthError("invalid_client", "client assertion was already used (jti replay)", 401) from exc


# ---- token issuance --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def grantable_scopes(session: Session, client: ApiClient, *, now: datetime) -> frozenset[str]:
    roles = agencies.current_roles(session, agency_id=client.agency_id, now=now)
    status = agreements.governing(session, agency_id=client.agency_id, now=now)
    granted = frozenset(client.scopes) & scopes_for_roles(roles) & status.scopes()
    if status.state == AgreementState.none and granted != frozenset(client.scopes) & scopes_for_roles(roles):
        raise OAuthError("invalid_scope", _no_agreement_hint(session, client, now=now))
    return granted


def _no_agreement_hint(session: Session, client: ApiClient, *, now: datetime) -> str:
    """Names what is missing: the client's agency is party to no agreement, and which agreements exist."""
    agency = session.get(Agency, client.agency_id)
    code = agency.code if agency else "?"
    in_force = [
        a.code
        for a in session.exec(select(Agreement).order_by(col(Agreement.valid_from)))
        if agreements.state_of(a, now) in (AgreementState.active, AgreementState.wind_down)
    ]
    listed = ", ".join(in_force) or "none"
    return (
        f"agency {code} is not a party to any agreement (in force: {listed}); the operator adds it with "
        f"`netral agreements add-party <AGREEMENT> --agency {code}`"
    )


def issue_token(
    session: Session,
    client: ApiClient,
    *,
    requested: str | None,
    settings: Settings,
    signer: keys.Signer,
    now: datetime,
) -> IssuedToken:
    grantable = grantable_scopes(session, client, now=now)
    if requested is not None and requested.strip():
        wanted = frozenset(requested.split())
        refused = wanted - grantable
        if refused:
            raise OAuthError("invalid_scope", f"scope not allowed for this client now: {' '.join(sorted(refused))}")
        granted = wanted
    else:
        granted = grantable
    if not granted:
        raise OAuthError("invalid_scope", "no scope can be granted to this client now")
    key = keys.active_key(session)
    if key is None:
        raise RuntimeError("no active signing key; run `netral keys rotate`")
    issued_at = int(now.timestamp())
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "iat": issued_at,
        "exp": issued_at + settings.access_token_ttl_seconds,
        "jti": secrets.token_urlsafe(16),
        "scope": " ".join(sorted(granted)),
    }
    return IssuedToken(signer.sign(key, claims), settings.access_token_ttl_seconds, str(claims["scope"]))


# ---- access-token verification and the principal ---------------------------------------------------------


def _key_resolver(
    session: Session | None, now: datetime, cache: "PrincipalCache | None" = None
) -> Callable[[str | None], tuple[dict[str, Any], str]]:
    def resolve(kid: str | None) -> tuple[dict[str, Any], str]:
        if not isinstance(kid, str):
            key = None
        elif cache is not None:
            key = cache.key(session, kid)
        elif session is not None:
            key = session.get(SigningKey, kid)
        else:
            raise CacheMiss
        if key is None or (key.retire_at is not None and as_utc(key.retire_at) <= now):
            raise JWTRejected("unknown or retired key")
        return dict(key.public_jwk), key.alg

    return resolve


def verify_access_token(
    session: Session | None, token: str, *, settings: Settings, now: datetime, cache: "PrincipalCache | None" = None
) -> dict[str, Any]:
    return verify_jwt(
        token,
        resolve_key=_key_resolver(session, now, cache),
        policy=VerificationPolicy(
            issuers={settings.issuer},
            audiences={settings.audience},
            required_claims=ACCESS_TOKEN_CLAIMS,
            max_lifetime_seconds=settings.access_token_ttl_seconds,
            leeway_seconds=settings.leeway_seconds,
            max_bytes=settings.max_token_bytes,
            expected_typ=ACCESS_TOKEN_TYP,
        ),
        now=now,
        seen=cache.signatures if cache is not None else None,
    )


@dataclass(frozen=True)
class CallerContext:
    """What a principal is computed from, loaded once per token and authorisation version: the client, its
    agency, the agency's dated roles, its agreements and their extensions, whether the token is revoked.
    Everything time-dependent is kept as dated rows, so one cached copy answers for any ``now``."""

    client_id: str
    client_scopes: frozenset[str]
    usable: bool  # enabled, and the token is not revoked
    agency_id: Any
    agency_code: str
    roles: tuple[tuple[str, datetime, datetime | None], ...]
    agreements: tuple[Agreement, ...]
    extensions: tuple[AgreementExtension, ...]
    case_authorities: tuple[tuple[Any, Any, str, datetime, datetime | None], ...]

    def principal(self, claims: dict[str, Any], *, now: datetime) -> Principal:
        roles = frozenset(r for r, since, until in self.roles if since <= now and (until is None or until > now))
        status = agreements.governing_from(self.agreements, self.extensions, now=now)
        by_roles = frozenset(str(claims["scope"]).split()) & self.client_scopes & scopes_for_roles(roles)
        return Principal(
            client_id=self.client_id,
            agency_id=self.agency_id,
            agency_code=self.agency_code,
            roles=roles,
            scopes=by_roles & status.scopes(),
            scopes_before_agreement=by_roles,
            token_id=claims["jti"],
            token_expires_at=datetime.fromtimestamp(claims["exp"], tz=now.tzinfo),
            agreement=status,
            case_authorities=self.case_authorities,
        )


AUTH_VERSION = sa_select(col(AuthVersion.version)).where(col(AuthVersion.id) == 1)


class CacheMiss(Exception):
    """The cache cannot answer without the database (``cached_principal``)."""


class PrincipalCache:
    """Per process (per runtime): signing keys by kid and caller contexts by token id, valid for one
    authorisation version. Each request reads the version (one indexed row); when it moved — a client
    disabled, a token revoked, a role transferred, an agreement changed, a key retired, in any process — the
    cache is dropped before it is used, so such a change bites on the very next request everywhere."""

    MAX_TOKENS = 10_000

    def __init__(self) -> None:
        self.version: int | None = None
        self.keys: dict[str, SigningKey] = {}
        self.contexts: dict[str, CallerContext] = {}
        self.signatures: dict[bytes, Verified] = {}
        self._lock = Lock()

    def sync(self, session: Session) -> None:
        self.at_version(session.connection().execute(AUTH_VERSION).scalar_one())

    def at_version(self, version: int) -> None:
        """The authorisation version just read: a cache of another version is dropped before it is used."""
        with self._lock:
            if (
                version != self.version
                or len(self.contexts) > self.MAX_TOKENS
                or len(self.signatures) > self.MAX_TOKENS
            ):
                self.version, self.keys, self.contexts, self.signatures = version, {}, {}, {}

    def key(self, session: Session | None, kid: str) -> SigningKey | None:
        if kid not in self.keys:
            if session is None:
                raise CacheMiss
            key = session.get(SigningKey, kid)
            if key is None:
                return None
            session.expunge(key)
            self.keys[kid] = key
        return self.keys[kid]

    def context(self, session: Session | None, claims: dict[str, Any]) -> CallerContext | None:
        jti = str(claims["jti"])
        if jti not in self.contexts:
            if session is None:
                raise CacheMiss
            loaded = _load_context(session, str(claims["client_id"]), jti)
            if loaded is None:
                return None
            self.contexts[jti] = loaded
        return self.contexts[jti]


def principal_cache(runtime: Runtime) -> PrincipalCache:
    return runtime.component(_build_principal_cache)


def _build_principal_cache(_runtime: Runtime) -> PrincipalCache:
    return PrincipalCache()


def _load_context(session: Session, client_id: str, jti: str) -> CallerContext | None:
    client = clients.by_client_id(session, client_id)
    if client is None:
        return None
    agency = session.get(Agency, client.agency_id)
    assert agency is not None
    roles = session.exec(select(AgencyRole).where(AgencyRole.agency_id == agency.id)).all()
    held, extensions = agreements.load_for_agency(session, agency_id=agency.id)
    authorities = session.execute(
        sa_select(
            col(AgreementParty.agreement_id),
            col(Agency.id),
            col(Agency.code),
            col(AgencyRole.valid_from),
            col(AgencyRole.valid_until),
        )
        .join(Agency, col(Agency.id) == col(AgreementParty.agency_id))
        .join(AgencyRole, col(AgencyRole.agency_id) == col(Agency.id))
        .where(
            col(AgreementParty.agreement_id).in_([a.id for a in held]),
            col(AgencyRole.role) == Role.case_authority.value,
        )
        .order_by(col(Agency.code))
    ).all()
    for row in (client, agency, *roles, *held, *extensions):
        session.expunge(row)
    return CallerContext(
        client_id=client.client_id,
        client_scopes=frozenset(client.scopes),
        usable=client.disabled_at is None and session.get(RevokedToken, jti) is None,
        agency_id=agency.id,
        agency_code=agency.code,
        roles=tuple((r.role, r.valid_from, r.valid_until) for r in roles),
        agreements=held,
        extensions=extensions,
        case_authorities=tuple((a, b, c, d, e) for a, b, c, d, e in authorities),
    )


def resolve_principal(
    session: Session, token: str, *, settings: Settings, now: datetime, cache: PrincipalCache | None = None
) -> Principal:
    cache = cache or PrincipalCache()
    cache.sync(session)
    return _principal(session, token, settings=settings, now=now, cache=cache)


def cached_principal(cache: PrincipalCache, token: str, *, settings: Settings, now: datetime) -> Principal | None:
    """The principal from the cache alone, once the caller has applied the current authorisation version
    (``PrincipalCache.at_version``); None when the key or the caller's context must be loaded first. A token
    that fails verification is refused here as on the database path."""
    try:
        return _principal(None, token, settings=settings, now=now, cache=cache)
    except CacheMiss:
        return None


def _principal(
    session: Session | None, token: str, *, settings: Settings, now: datetime, cache: PrincipalCache
) -> Principal:
    claims = verify_access_token(session, token, settings=settings, now=now, cache=cache)
    context = cache.context(session, claims)
    if context is None or not context.usable or claims["sub"] != context.client_id:
        raise JWTRejected("client unknown or disabled, or token revoked")
    return context.principal(claims, now=now)


# ---- revocation (RFC 7009) -------------------------------------------------------------------------------


def revoke(session: Session, client: ApiClient, token: str, *, settings: Settings, now: datetime) -> None:
    """Revoke an access token that belongs to the calling client. Per RFC 7009 §2.2 an invalid or foreign
    token is not an error: the answer is the same 200 either way."""
    try:
        claims = verify_access_token(session, token, settings=settings, now=now)
    except JWTRejected:
        return
    if claims.get("client_id") != client.client_id:
        return
    if session.get(RevokedToken, claims["jti"]) is None:
        expires_at = datetime.fromtimestamp(claims["exp"], tz=now.tzinfo) + timedelta(seconds=settings.leeway_seconds)
        session.add(RevokedToken(jti=claims["jti"], client_id=client.client_id, expires_at=expires_at, revoked_at=now))
        session.flush()
