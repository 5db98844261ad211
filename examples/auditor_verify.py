"""Auditor: export the audit log and its signed checkpoints, and verify them offline, trusting nothing but
the published Ed25519 key. What is checked (README, "Audit log"):

- each row's hash is SHA-256(previous hash ‖ canonical JSON of the row), the first row's previous hash 64 zeros;
- each checkpoint's signature verifies under the key, its hash is SHA-256 of its payload, it names the
  previous checkpoint by that hash, and its head is the hash of the row at its size.

  NETRAL_CLIENT_ID=… NETRAL_CLIENT_SECRET=… python examples/auditor_verify.py [--out DIR]
"""

import argparse
import base64
import hashlib
import json
import pathlib
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from netral_client import check, connect

GENESIS = "0" * 64


def canonical(row: dict[str, Any]) -> bytes:
    fields = {k: v for k, v in row.items() if k not in ("prev_hash", "hash")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify(rows: list[dict[str, Any]], checkpoints: list[dict[str, Any]], key: Ed25519PublicKey) -> list[str]:
    problems: list[str] = []
    prev, hash_at = GENESIS, {}
    for row in rows:
        expected = hashlib.sha256(prev.encode() + canonical(row)).hexdigest()
        if row["prev_hash"] != prev or row["hash"] != expected:
            problems.append(f"row {row['seq']}: chain broken")
        prev = row["hash"]
        hash_at[row["seq"]] = row["hash"]
    prev_checkpoint = GENESIS
    for cp in checkpoints:
        fields = {k: cp[k] for k in ("head_hash", "prev_checkpoint_hash", "size", "time")}
        payload = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        try:
            key.verify(base64.b64decode(cp["signature"]), payload)
        except InvalidSignature:
            problems.append(f"checkpoint {cp['id']}: bad signature")
        if cp["hash"] != hashlib.sha256(payload).hexdigest() or cp["prev_checkpoint_hash"] != prev_checkpoint:
            problems.append(f"checkpoint {cp['id']}: not linked to the previous one")
        if cp["size"] in hash_at and hash_at[cp["size"]] != cp["head_hash"]:
            problems.append(f"checkpoint {cp['id']}: head differs from row {cp['size']}")
        prev_checkpoint = cp["hash"]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="audit-export")
    out = pathlib.Path(parser.parse_args().out)
    out.mkdir(exist_ok=True)
    api = connect()

    events = check(api.get("/api/v1/audit/events:export")).text
    cps = check(api.get("/api/v1/audit/checkpoints:export")).text
    published = check(api.get("/api/v1/audit/public-key")).json()
    (out / "events.jsonl").write_text(events)
    (out / "checkpoints.jsonl").write_text(cps)
    (out / "public-key.pem").write_text(published["public_key_pem"])
    print(f"exported to {out}/ (also verifiable with `netral audit verify --export … --checkpoints … --public-key …`)")

    key = serialization.load_pem_public_key(published["public_key_pem"].encode())
    assert isinstance(key, Ed25519PublicKey)
    rows = [json.loads(line) for line in events.splitlines() if line.strip()]
    checkpoints = [json.loads(line) for line in cps.splitlines() if line.strip()]
    problems = verify(rows, checkpoints, key)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        return 1
    last = checkpoints[-1] if checkpoints else None
    print(
        f"verified: {len(rows)} rows chained, {len(checkpoints)} checkpoint(s) signed"
        + (f"; the newest covers {last['size']} rows" if last else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
