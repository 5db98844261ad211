"""The only door through which a JWT is trusted.

python-jose is frozen upstream and accepts algorithm confusion when ``algorithms`` is omitted, so nothing
else in the code base may call it for verification. This wrapper:

- refuses oversized tokens and anything that is not three base64url segments;
- refuses a control character in any header value or string claim (a ``kid`` or ``sub`` is looked up in
  the database, whose text cannot hold NUL);
- refuses ``jku``/``x5u``/``jwk``/``x5c``/``crit`` headers (no key material or extensions from the token);
- checks ``typ`` when the caller expects one (``at+jwt`` for access tokens, RFC 9068 §4);
- selects the key itself by ``kid`` and checks the key type fits the algorithm, then calls python-jose with
  exactly one algorithm — the key's own;
- validates every time claim against the injected clock with at most 30 s leeway, requires the listed
  claims and bounds the token's lifetime.
"""

import base64
import hashlib
import json
from collections.abc import Callable, Collection, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jose import jws
from jose.exceptions import JOSEError

from app.core.text import has_control_character

FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "x5t", "crit"})
KEY_TYPE_FOR_ALG = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type


class JWTRejected(Exception):
    """The token is not acceptable. The message is safe to show to the token's holder."""


@dataclass(frozen=True)
class VerificationPolicy:
    issuers: Collection[str]
    audiences: Collection[str]
    required_claims: Collection[str]
    max_lifetime_seconds: int
    leeway_seconds: int
    max_bytes: int
    expected_typ: str | None = None


# kid (or None) -> (public JWK, algorithm) ; raise JWTRejected for an unknown kid
KeyResolver = Callable[[str | None], tuple[dict[str, Any], str]]


def read_unverified_header(token: str, max_bytes: int) -> dict[str, Any]:
    if len(token.encode()) > max_bytes:
        raise JWTRejected("token too large")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise JWTRejected("malformed token")
    try:
        header = json.loads(_b64decode(parts[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JWTRejected("malformed token header") from exc
    if not isinstance(header, dict) or any(isinstance(v, str) and has_control_character(v) for v in header.values()):
        raise JWTRejected("malformed token header")
    return header


@dataclass(frozen=True)
class Verified:
    """A token whose signature checked out against this key: the same bytes under the same key verify the
    same way, so a memo of it by the token's digest (``verify_jwt(seen=...)``) skips only the signature
    arithmetic. Everything that depends on time or on the key's state is still checked on every use."""

    public_jwk: dict[str, Any]
    claims: dict[str, Any]


def verify_jwt(
    token: str,
    *,
    resolve_key: KeyResolver,
    policy: VerificationPolicy,
    now: datetime,
    seen: MutableMapping[bytes, Verified] | None = None,
) -> dict[str, Any]:
    header = read_unverified_header(token, policy.max_bytes)
    _check_header(header, policy)
    public_jwk, alg = resolve_key(header.get("kid"))
    _check_key_fits(public_jwk, alg, header)
    digest = hashlib.sha256(token.encode()).digest()
    memo = seen.get(digest) if seen is not None else None
    if memo is not None and memo.public_jwk == public_jwk:
        claims = dict(memo.claims)
    else:
        memo = None  # none yet, or made under another key: verified afresh, then remembered
        try:
            payload = jws.verify(token, public_jwk, algorithms=[alg])
            claims = json.loads(payload)
        except (JOSEError, ValueError) as exc:
            raise JWTRejected("signature verification failed") from exc
        if not isinstance(claims, dict):
            raise JWTRejected("claims are not an object")
        if any(isinstance(v, str) and has_control_character(v) for v in claims.values()):
            raise JWTRejected("a claim holds a control character")  # once: a remembered token's claims passed
    _check_claims(claims, policy, now.timestamp())
    if seen is not None and memo is None:
        seen[digest] = Verified(public_jwk=public_jwk, claims=dict(claims))
    return claims


def _check_header(header: dict[str, Any], policy: VerificationPolicy) -> None:
    present = FORBIDDEN_HEADERS & header.keys()
    if present:
        raise JWTRejected(f"header parameter not accepted: {sorted(present)[0]}")
    if header.get("alg") not in KEY_TYPE_FOR_ALG:
        raise JWTRejected("algorithm not accepted")
    if policy.expected_typ is not None:
        typ = str(header.get("typ", "")).lower().removeprefix("application/")
        if typ != policy.expected_typ:
            raise JWTRejected(f"typ must be {policy.expected_typ}")


def _check_key_fits(public_jwk: dict[str, Any], alg: str, header: dict[str, Any]) -> None:
    if header.get("alg") != alg:
        raise JWTRejected("algorithm does not match the key")
    kty, crv = KEY_TYPE_FOR_ALG[alg]
    if public_jwk.get("kty") != kty or (crv and public_jwk.get("crv") != crv):
        raise JWTRejected("key type does not match the algorithm")
    if "d" in public_jwk or "k" in public_jwk:
        raise JWTRejected("refusing to verify with private or symmetric key material")


def _check_claims(claims: dict[str, Any], policy: VerificationPolicy, now: float) -> None:
    missing = [name for name in policy.required_claims if name not in claims]
    if missing:
        raise JWTRejected(f"missing claim: {missing[0]}")
    exp, iat = _number(claims, "exp"), _number(claims, "iat")
    leeway = policy.leeway_seconds
    if exp is None or now > exp + leeway:
        raise JWTRejected("token expired")
    if iat is not None and iat > now + leeway:
        raise JWTRejected("token issued in the future")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise JWTRejected("token not yet valid")
    start = iat if iat is not None else now
    if exp - start > policy.max_lifetime_seconds:
        raise JWTRejected("token lifetime too long")
    if claims.get("iss") not in policy.issuers:
        raise JWTRejected("wrong issuer")
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not any(isinstance(a, str) and a in policy.audiences for a in audiences):
        raise JWTRejected("wrong audience")
    for name in ("sub", "jti", "client_id"):
        if name in claims and not isinstance(claims[name], str):
            raise JWTRejected(f"claim {name} must be a string")


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JWTRejected(f"claim {name} must be a number")
    return float(value)


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
