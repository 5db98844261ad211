"""The one settings class. Every knob is a ``NETRAL_*`` environment variable (or a line in ``.env``)."""

import ipaddress
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_ACCESS_TOKEN_TTL = 600  # DESIGN.md: access tokens live at most 10 minutes
MAX_LEEWAY = 30


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETRAL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/netral.db", description="SQLAlchemy URL; SQLite file or postgresql+psycopg://"
    )
    secret_key: SecretStr = Field(
        ..., min_length=32, description="Master secret: keys client-secret hashes and wraps signing keys"
    )
    issuer: str = Field("http://127.0.0.1:8000", description="`iss` of access tokens; also the token URL base")
    audience: str = Field("netral-api", description="`aud` of access tokens")
    signing_alg: Literal["RS256", "ES256"] = "RS256"
    access_token_ttl_seconds: int = Field(300, ge=30, le=MAX_ACCESS_TOKEN_TTL)
    leeway_seconds: int = Field(30, ge=0, le=MAX_LEEWAY)
    assertion_max_lifetime_seconds: int = Field(
        300, ge=30, le=3600, description="private_key_jwt assertions may not live longer than this"
    )
    max_token_bytes: int = Field(8192, ge=1024, le=16384)
    identity_keys: SecretStr | None = Field(
        None,
        description="Reporter-identity encryption keys, `kid:base64key[,kid:base64key…]` (32-byte AES keys); the "
        "first encrypts, all decrypt. Unset: one key derived from NETRAL_SECRET_KEY.",
    )
    evidence_dir: str = Field("./var/evidence", description="Where evidence files are stored, by SHA-256")
    evidence_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    evidence_media_types: list[str] = Field(
        default=["image/png", "image/jpeg", "image/webp", "application/pdf", "text/html", "video/mp4"]
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest JSON or form body; larger ones are refused unread (413)"
    )
    body_read_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Each part of a request body must arrive within this; else 408"
    )
    db_timeout_seconds: int = Field(
        5,
        ge=1,
        le=300,
        description="The server's bound on waiting for PostgreSQL: to connect, per statement, for a pooled "
        "connection. Past it the request is answered 503 with Retry-After",
    )
    rate_window_seconds: int = Field(10, ge=1, le=3600, description="Length of a rate-limit and flood window")
    refusals_per_source: int = Field(
        30,
        ge=1,
        description="Refusals before authentication one source address may draw per window; past it, 429",
    )
    requests_per_client: int = Field(
        600,
        ge=1,
        description="Requests one API client may make per window, across every process (about a second's "
        "lag); past it, 429",
    )
    token_requests_per_source: int = Field(
        20, ge=1, description="Requests to /oauth/token one source address may make per window; past it, 429"
    )
    batch_max_items: int = Field(100, ge=1, le=1000)
    ppk_follow_up_days: int = Field(
        30,
        ge=1,
        description="After a recommendation, the PPK's follow-up is due "
        "within this many days; later the case is `overdue`",
    )
    audit_signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key (base64 of the 32-byte seed) that signs audit checkpoints; kept apart "
        "from NETRAL_SECRET_KEY and the token keys. `netral audit keygen` makes one. Unset: no checkpoints.",
    )
    audit_checkpoint_interval_seconds: int = Field(
        300, ge=0, description="Sign a checkpoint this often, idle periods included; 0: only on demand"
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For is believed; from "
        "anyone else the header is ignored and the peer address is the client IP",
    )
    hsts: bool = Field(
        False,
        description="TLS terminates in front of the service (the reverse proxy): answer with Strict-Transport-Security",
    )
    log_level: str = "INFO"
    max_concurrent_requests: int = Field(
        4,
        ge=1,
        le=512,
        description="Requests in flight per process; the rest wait without a thread. Measured on 2 cores "
        "(bench/README.md): 4 gives the throughput of 8 with half its p99 (fewer threads contending for the "
        "GIL), and both beat 32; raise it when the database is far away, so waits on it overlap",
    )

    docs: bool = Field(True, description="Serve the API reference pages (/docs, /redoc) from the package; false: 404")
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve Prometheus metrics on this port (same host as the API), apart from the API so agencies "
        "never reach them; every worker process is counted. Unset: no metrics",
    )
    housekeeping_interval_seconds: int = Field(
        3600,
        ge=0,
        description="Prune expired idempotency records, revocations and used client assertions this often (one "
        "process at a time, elected by lock); 0: only by `netral housekeeping`",
    )
    idempotency_retention_hours: int = Field(
        24,
        ge=1,
        le=24 * 90,
        description="How long a retry with the same Idempotency-Key gets the first answer back; later the key "
        "is forgotten (a report's reference still refuses a duplicate)",
    )

    @field_validator("issuer")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()  # values come from the environment
