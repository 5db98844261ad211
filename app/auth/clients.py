"""API clients: creation (secret shown once), lookup, disabling."""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.access.roles import ALL_SCOPES
from app.agencies.models import Agency
from app.auth.models import ApiClient
from app.core.config import Settings
from app.core.crypto import derive_key, keyed_hash

SECRET_PURPOSE = "client-secret-hash"  # noqa: S105 - an HKDF label, not a secret
ACCEPTED_JWK_TYPES = {("RSA", None), ("EC", "P-256")}


class ClientError(ValueError):
    pass


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    secret: str | None  # shown exactly once


def hash_secret(settings: Settings, secret: str) -> str:
    return keyed_hash(derive_key(settings.secret_key, SECRET_PURPOSE), secret)


def secret_matches(settings: Settings, client: ApiClient | None, presented: str) -> bool:
    # Always compute the hash so an unknown client_id costs the same time as a wrong secret.
    expected = client.secret_hash if client is not None and client.secret_hash else "0" * 64
    ok = hmac.compare_digest(hash_secret(settings, presented), expected)
    return ok and client is not None and client.secret_hash is not None


def validate_public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    if (jwk.get("kty"), jwk.get("crv")) not in ACCEPTED_JWK_TYPES:
        raise ClientError("the key must be an RSA or an EC P-256 public JWK")
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ClientError("that JWK holds private key material; register the public key only")
    return {k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}}


def create(
    session: Session,
    *,
    settings: Settings,
    agency: Agency,
    name: str,
    scopes: list[str],
    now: datetime,
    public_jwk: dict[str, Any] | None = None,
) -> NewClient:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ClientError(f"unknown scope(s): {', '.join(unknown)}")
    if not scopes:
        raise ClientError("give the client at least one scope")
    secret = None if public_jwk else secrets.token_urlsafe(32)  # 32 random bytes
    client = ApiClient(
        client_id=f"{agency.code.lower()}-{secrets.token_hex(8)}",
        agency_id=agency.id,
        name=name,
        scopes=sorted(set(scopes)),
        secret_hash=hash_secret(settings, secret) if secret else None,
        public_jwk=validate_public_jwk(public_jwk) if public_jwk else None,
        created_at=now,
    )
    session.add(client)
    session.flush()
    return NewClient(client=client, secret=secret)


def reset_secret(session: Session, *, settings: Settings, client: ApiClient) -> str:
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(settings, secret)
    session.add(client)
    session.flush()
    return secret


def by_client_id(session: Session, client_id: str) -> ApiClient | None:
    return session.exec(select(ApiClient).where(ApiClient.client_id == client_id)).first()


def disable(session: Session, *, client_id: str, now: datetime) -> ApiClient:
    client = by_client_id(session, client_id)
    if client is None:
        raise ClientError(f"no client {client_id!r}")
    if client.disabled_at is None:
        client.disabled_at = now
        session.add(client)
        session.flush()
    return client


def list_for(session: Session, agency: Agency | None = None) -> list[ApiClient]:
    query = select(ApiClient).order_by(col(ApiClient.created_at))
    if agency is not None:
        query = query.where(ApiClient.agency_id == agency.id)
    return list(session.exec(query))


def agency_of(session: Session, client: ApiClient) -> Agency:
    agency = session.get(Agency, client.agency_id)
    assert agency is not None  # foreign key
    return agency
