"""A write's ``Audit-Receipt``: a signed promise of inclusion, as certificate transparency's SCT is.

A write answers as soon as its transaction (its change and its audit row) commits: the row is chained by the
elected sealer within a second (``app.audit.sealer``), not while the caller waits. The receipt commits the
service to that row now:

    Audit-Receipt: v1 row=<hex SHA-256 of the row> key=<audit key id> sig=<base64url Ed25519 signature>

``row`` is the SHA-256 of the row's canonical encoding (app/audit/service.py) without ``seq``, which the
chain assigns later; ``sig`` signs ``netral-audit-promise/v1\\n<row>`` with the audit checkpoint key
(``GET /api/v1/audit/public-key``). Whoever holds a receipt can later demand the row whose fields hash to
``row`` from any export: if the chain lacks it, the signed receipt proves the log was cut. Without an
audit key the receipt carries ``row`` only.
"""

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit import checkpoints
from app.audit.checkpoints import format_time
from app.audit.service import HASHED
from app.core.config import Settings

VERSION = "v1"
CONTEXT = b"netral-audit-promise/v1\n"


def row_digest(row: dict[str, Any]) -> str:
    fields = {k: row[k] for k in HASHED if k != "seq"}
    if not isinstance(fields["at"], str):
        fields["at"] = format_time(fields["at"])
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(canonical).hexdigest()


def issue(settings: Settings, row: dict[str, Any]) -> str:
    digest = row_digest(row)
    if settings.audit_signing_key is None:
        return f"{VERSION} row={digest}"
    key, key_id = checkpoints.signer(settings)
    signature = base64.urlsafe_b64encode(key.sign(CONTEXT + digest.encode())).rstrip(b"=").decode()
    return f"{VERSION} row={digest} key={key_id} sig={signature}"


def parse(receipt: str) -> dict[str, str]:
    version, *parts = receipt.split()
    if version != VERSION:
        raise ValueError(f"unknown receipt version {version!r}")
    return dict(part.split("=", 1) for part in parts)


def verify(receipt: str, row: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """The receipt names this row and the service signed it."""
    fields = parse(receipt)
    if fields.get("row") != row_digest(row) or "sig" not in fields:
        return False
    signature = base64.urlsafe_b64decode(fields["sig"] + "=" * (-len(fields["sig"]) % 4))
    try:
        public_key.verify(signature, CONTEXT + fields["row"].encode())
    except InvalidSignature:
        return False
    return True
