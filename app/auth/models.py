import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class ApiClient(SQLModel, table=True):
    """An agency system that calls Netral. Authenticates with a secret (stored as a keyed hash only) or
    with ``private_key_jwt`` against its registered public JWK."""

    __tablename__ = "api_client"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    name: str = Field(max_length=200)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret_hash: str | None = Field(default=None, max_length=128)
    public_jwk: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SigningKey(SQLModel, table=True):
    """A token-signing key pair. The private half is stored wrapped (AES-GCM under a key derived from
    ``NETRAL_SECRET_KEY``). After rotation a key stays published and accepted until ``retire_at``."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    private_key_wrapped: str
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    retire_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RevokedToken(SQLModel, table=True):
    """RFC 7009 revocations, shared by every server process through the database."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=128)
    client_id: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    revoked_at: datetime = Field(sa_type=UTCDateTime)


class UsedAssertion(SQLModel, table=True):
    """``jti`` of accepted private_key_jwt assertions: the unique key is the replay guard across processes."""

    __tablename__ = "used_assertion"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_used_assertion_client_id_jti"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    jti: str = Field(max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class AuthVersion(SQLModel, table=True):
    """One row whose ``version`` moves on every change to what authorises a request (clients, revocations,
    agencies and their roles, agreements, parties, extensions, signing keys): database triggers bump it, so
    no code path can forget to. Each server process caches resolved principals by token and reads this one
    row per request; a moved version drops the cache, in every process, on the very next request."""

    __tablename__ = "auth_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)
