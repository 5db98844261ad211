"""Reporter identity of a member of the public: sealed with AES-GCM at rest, keys from settings, rotatable.

A sealed value records the id of the key that sealed it; ``NETRAL_IDENTITY_KEYS`` lists the current key
first and older ones after it, so values sealed before a rotation still open; ``netral identity reseal``
re-seals old values under the current key.
"""

import base64
import json
from typing import Any

from app.core.config import Settings
from app.core.crypto import derive_key, unwrap, wrap

DERIVED_KEY_ID = "derived-1"


class IdentityKeyMissing(RuntimeError):
    pass


def keyring(settings: Settings) -> list[tuple[str, bytes]]:
    if settings.identity_keys is None:
        return [(DERIVED_KEY_ID, derive_key(settings.secret_key, "reporter-identity"))]
    ring = []
    for entry in settings.identity_keys.get_secret_value().split(","):
        kid, _, b64 = entry.strip().partition(":")
        key = base64.b64decode(b64)
        if len(key) != 32 or not kid:
            raise ValueError("each NETRAL_IDENTITY_KEYS entry must be kid:base64 of 32 bytes")
        ring.append((kid, key))
    return ring


def seal(settings: Settings, identity: dict[str, Any], *, context: str) -> tuple[str, str]:
    kid, key = keyring(settings)[0]
    return wrap(key, json.dumps(identity, sort_keys=True).encode(), context=context), kid


def open_sealed(settings: Settings, sealed: str, *, key_id: str, context: str) -> dict[str, Any]:
    for kid, key in keyring(settings):
        if kid == key_id:
            return json.loads(unwrap(key, sealed, context=context))
    raise IdentityKeyMissing(f"identity key {key_id!r} is not configured")
