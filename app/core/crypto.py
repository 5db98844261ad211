"""Sub-keys derived from ``NETRAL_SECRET_KEY`` (HKDF), one per purpose, so no purpose can be turned into
another; plus authenticated wrapping of small secrets at rest."""

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr


def derive_key(master: SecretStr, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"netral/{purpose}".encode())
    return hkdf.derive(master.get_secret_value().encode())


def keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def wrap(key: bytes, plaintext: bytes, *, context: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext, context.encode())
    return base64.b64encode(nonce + sealed).decode()


def unwrap(key: bytes, wrapped: str, *, context: str) -> bytes:
    raw = base64.b64decode(wrapped)
    return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode())
