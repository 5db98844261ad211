"""Token-signing keys: creation, rotation, publication (JWKS) and signing."""

import secrets
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt
from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.auth.models import SigningKey
from app.core.config import Settings
from app.core.crypto import derive_key, unwrap, wrap
from app.core.runtime import Runtime

WRAP_PURPOSE = "signing-key-wrap"


def generate_private_pem(alg: str) -> bytes:
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_jwk_of(private_pem: bytes, alg: str, kid: str) -> dict[str, Any]:
    public = jwk.construct(private_pem.decode(), alg).public_key().to_dict()
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public.items()}


def create_signing_key(session: Session, *, settings: Settings, now: datetime) -> SigningKey:
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    pem = generate_private_pem(settings.signing_alg)
    key = SigningKey(
        kid=kid,
        alg=settings.signing_alg,
        private_key_wrapped=wrap(derive_key(settings.secret_key, WRAP_PURPOSE), pem, context=kid),
        public_jwk=public_jwk_of(pem, settings.signing_alg, kid),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def rotate(session: Session, *, settings: Settings, now: datetime) -> SigningKey:
    """New tokens get the new key; the old ones stay valid until every token they signed has expired."""
    grace = timedelta(seconds=settings.access_token_ttl_seconds + settings.leeway_seconds)
    for old in session.exec(select(SigningKey).where(col(SigningKey.retire_at).is_(None))):
        old.retire_at = now + grace
        session.add(old)
    return create_signing_key(session, settings=settings, now=now)


def retire_now(session: Session, *, kid: str, now: datetime) -> bool:
    key = session.get(SigningKey, kid)
    if key is None:
        return False
    key.retire_at = now
    session.add(key)
    session.flush()
    return True


def active_key(session: Session) -> SigningKey | None:
    query = select(SigningKey).where(col(SigningKey.retire_at).is_(None)).order_by(col(SigningKey.created_at).desc())
    return session.exec(query).first()


def published_keys(session: Session, *, now: datetime) -> list[SigningKey]:
    query = (
        select(SigningKey)
        .where(or_(col(SigningKey.retire_at).is_(None), col(SigningKey.retire_at) > now))
        .order_by(col(SigningKey.created_at).desc())
    )
    return list(session.exec(query))


class Signer:
    """Signs with the active key; unwrapped private keys are cached per kid, parsed (key material never
    changes for a kid, only which kid is active — and that is read from the database on every call). Parsing
    an RSA private key checks it, which costs tens of milliseconds: once per kid and process, not per token."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._unwrapped: dict[str, jwk.Key] = {}
        self._lock = Lock()

    def sign(self, key: SigningKey, claims: dict[str, Any]) -> str:
        private = self._private_key(key)
        return jwt.encode(claims, private, algorithm=key.alg, headers={"kid": key.kid, "typ": "at+jwt"})

    def _private_key(self, key: SigningKey) -> jwk.Key:
        with self._lock:
            if key.kid not in self._unwrapped:
                wrap_key = derive_key(self._settings.secret_key, WRAP_PURPOSE)
                pem = unwrap(wrap_key, key.private_key_wrapped, context=key.kid).decode()
                self._unwrapped[key.kid] = jwk.construct(pem, key.alg)
            return self._unwrapped[key.kid]


def signer(runtime: Runtime) -> Signer:
    """The process's signer (its unwrapped-key cache lives as long as the runtime)."""
    return runtime.component(_build_signer)


def _build_signer(runtime: Runtime) -> Signer:
    return Signer(runtime.settings)


def jwks_document(keys: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [dict(k.public_jwk) for k in keys]}
