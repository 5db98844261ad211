"""Signed checkpoints of the audit chain.

A checkpoint states, under the service's Ed25519 audit key, that the chain had ``size`` rows ending in
``head_hash`` at ``time``, and names the previous checkpoint by its hash. Payload (what is signed, what an
auditor re-implements): the JSON object ``{"head_hash", "prev_checkpoint_hash", "size", "time"}`` with keys
sorted, no whitespace, UTF-8, ``time`` as ISO 8601 UTC with microseconds. ``hash = hex(SHA-256(payload))``;
the first checkpoint's ``prev_checkpoint_hash`` is 64 zeros. The signature is base64 (standard alphabet).

The audit key (``NETRAL_AUDIT_SIGNING_KEY``) is kept apart from the token keys and from ``NETRAL_SECRET_KEY``:
whoever holds the database and the master secret still cannot sign a checkpoint.
"""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.audit.models import AuditCheckpoint, AuditHead
from app.core.config import Settings

GENESIS = "0" * 64


class AuditKeyMissing(RuntimeError):
    pass


def format_time(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def payload(size: int, head_hash: str, time: datetime | str, prev_checkpoint_hash: str) -> bytes:
    fields = {
        "head_hash": head_hash,
        "prev_checkpoint_hash": prev_checkpoint_hash,
        "size": size,
        "time": format_time(time),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def private_key(settings: Settings) -> Ed25519PrivateKey:
    return signer(settings)[0]


def signer(settings: Settings) -> tuple[Ed25519PrivateKey, str]:
    """The audit key and its key id, derived once per key (every write's receipt is signed with it)."""
    if settings.audit_signing_key is None:
        raise AuditKeyMissing("NETRAL_AUDIT_SIGNING_KEY is not set: checkpoints cannot be signed")
    return _signer(settings.audit_signing_key.get_secret_value().strip())


@lru_cache(maxsize=4)
def _signer(seed: str) -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
    return key, key_id(key.public_key())


def new_private_seed() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A PEM (SubjectPublicKeyInfo) file, or the JSON that ``GET /api/v1/audit/public-key`` answers."""
    stripped = text.strip()
    if stripped.startswith("{"):
        stripped = json.loads(stripped)["public_key_pem"].strip()
    key = serialization.load_pem_public_key(stripped.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_key_document(key: Ed25519PublicKey) -> dict[str, Any]:
    x = base64.urlsafe_b64encode(raw_public(key)).rstrip(b"=").decode()
    return {
        "key_id": key_id(key),
        "algorithm": "Ed25519",
        "public_key_pem": public_pem(key),
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(key), "use": "sig"},
    }


def latest(session: Session) -> AuditCheckpoint | None:
    return session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)).first()


def make(
    session: Session,
    key: Ed25519PrivateKey,
    now: datetime,
    *,
    unless_younger_than: timedelta | None = None,
    if_moved: bool = False,
) -> AuditCheckpoint | None:
    """Seal what is pending and sign the chain's head. Holds the head lock throughout, so the size and hash
    it signs are a committed prefix and no two processes sign the same checkpoint number. With ``unless_younger_than``,
    does nothing when another process made a checkpoint that recently (the interval sealer in every process)."""
    from app.audit.service import seal

    seal(session)  # takes the head lock, and signs only sealed rows: everything committed so far
    size, head_hash = session.exec(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    last = latest(session)
    if unless_younger_than is not None and last is not None and now - last.time < unless_younger_than:
        return None
    if if_moved and last is not None and last.size == size:
        return None
    prev = last.hash if last else GENESIS
    body = payload(size, head_hash, now, prev)
    checkpoint = AuditCheckpoint(
        id=(last.id + 1) if last else 1,
        size=size,
        head_hash=head_hash,
        time=now,
        prev_checkpoint_hash=prev,
        key_id=key_id(key.public_key()),
        signature=base64.b64encode(key.sign(body)).decode(),
        hash=hashlib.sha256(body).hexdigest(),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def anchor_head(engine: Engine, settings: Settings, now: datetime) -> AuditCheckpoint | None:
    """Sign the head in a transaction of its own when it moved since the last checkpoint: what every export
    does first, so it ends on a signed head. Nothing without an audit key."""
    if settings.audit_signing_key is None:
        return None
    with Session(engine, expire_on_commit=False) as session:
        made = make(session, private_key(settings), now, if_moved=True)
        session.commit()
    return made


def all_in_order(session: Session) -> list[AuditCheckpoint]:
    return list(session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))))


def export_line(checkpoint: AuditCheckpoint) -> str:
    """One line of a checkpoints file (``--checkpoints``), as the CLI and the API export it."""
    return json.dumps(as_document(checkpoint), sort_keys=True)


def as_document(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.id,
        "size": checkpoint.size,
        "head_hash": checkpoint.head_hash,
        "time": format_time(checkpoint.time),
        "prev_checkpoint_hash": checkpoint.prev_checkpoint_hash,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "hash": checkpoint.hash,
    }
