"""Verification of the audit chain and its checkpoints: the same code online (rows from the database) and
offline (a JSON Lines export, a checkpoints file and the public key; no database).

What is checked, in order:
1. Checkpoints: each one's hash is the SHA-256 of its payload, its signature verifies under the public key,
   it names its predecessor's hash (none deleted, none reordered), and sizes never go backwards.
2. Rows: sequence numbers are contiguous, each row names its predecessor's hash, each hash re-computes, and
   at every size a checkpoint signed, the row's hash is the signed head hash.
3. Completeness (full exports): the rows start at 1 and reach the newest checkpoint; rows missing beyond it
   are a truncated tail.
The first failure is reported with the row (``seq``) or checkpoint it is in.
"""

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit.checkpoints import GENESIS, key_id, payload
from app.audit.service import chain_hash


@dataclass
class Report:
    ok: bool = True
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    anchored_through: int = 0  # the largest checkpointed size the rows reached
    bad_seq: int | None = None
    bad_checkpoint: int | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, reason: str, *, seq: int | None = None, checkpoint: int | None = None) -> "Report":
        self.ok, self.reason, self.bad_seq, self.bad_checkpoint = False, reason, seq, checkpoint
        return self

    def summary(self) -> str:
        if not self.ok:
            where = f"row {self.bad_seq}" if self.bad_seq is not None else f"checkpoint {self.bad_checkpoint}"
            return f"audit log BROKEN at {where}: {self.reason}"
        span = f"rows {self.first_seq}..{self.last_seq}" if self.rows else "no rows"
        text = f"audit log OK: {self.rows} rows ({span}), {self.checkpoints} checkpoints"
        if self.checkpoints:
            text += f", signed through row {self.anchored_through}"
        return "; ".join([text, *self.notes])


def verify(
    rows: Iterable[dict[str, Any]],
    checkpoints: list[dict[str, Any]] | None = None,
    public_key: Ed25519PublicKey | None = None,
    *,
    full: bool = True,
) -> Report:
    """``full``: the rows claim to be the whole log (start at 1, reach the newest checkpoint). A ranged export
    (``full=False``) takes its first row's ``prev_hash`` as given, and is anchored by the checkpoints inside it."""
    report = Report()
    checkpoints = checkpoints or []
    heads = _verify_checkpoints(report, checkpoints, public_key, full=full)
    if not report.ok:
        return report
    prev: str | None = GENESIS if full else None
    expected: int | None = 1 if full else None
    for row in rows:
        seq = row["seq"]
        if expected is not None and seq != expected:
            return report.fail(f"expected row {expected}, found row {seq}: rows missing or out of order", seq=expected)
        if prev is not None and row["prev_hash"] != prev:
            return report.fail("prev_hash does not name the preceding row's hash", seq=seq)
        if chain_hash(row["prev_hash"], row) != row["hash"]:
            return report.fail("hash does not match the row's contents", seq=seq)
        if seq in heads:
            number, head = heads[seq]
            if row["hash"] != head:
                return report.fail(f"hash differs from the head hash signed in checkpoint {number}", seq=seq)
            report.anchored_through = seq
        if report.first_seq is None:
            report.first_seq = seq
            if seq - 1 in heads and heads[seq - 1][1] != row["prev_hash"]:
                number = heads[seq - 1][0]
                return report.fail(f"prev_hash differs from the head hash signed in checkpoint {number}", seq=seq)
        report.rows, report.last_seq = report.rows + 1, seq
        prev, expected = row["hash"], seq + 1
    newest = max((size for size in heads), default=0)
    if full and newest > (report.last_seq or 0):
        number = heads[newest][0]
        return report.fail(
            f"rows {(report.last_seq or 0) + 1}..{newest} are missing: checkpoint {number} signed {newest} rows "
            f"(truncated tail)",
            seq=(report.last_seq or 0) + 1,
        )
    if report.last_seq is not None and report.last_seq > report.anchored_through and checkpoints:
        report.notes.append(f"rows after {report.anchored_through} are chained but not yet under a checkpoint")
    if not checkpoints:
        report.notes.append("no checkpoints: the chain is consistent, but nothing signed anchors it")
    return report


def _verify_checkpoints(
    report: Report, checkpoints: list[dict[str, Any]], public_key: Ed25519PublicKey | None, *, full: bool
) -> dict[int, tuple[int, str]]:
    """Returns {size: (checkpoint id, head hash)}."""
    heads: dict[int, tuple[int, str]] = {}
    if checkpoints and public_key is None:
        report.fail("checkpoints cannot be verified without the audit public key", checkpoint=checkpoints[0]["id"])
        return heads
    prev, last_size, last_id = GENESIS, 0, None
    for cp in checkpoints:
        number = cp["id"]
        if last_id is None and full and number != 1:
            report.fail(f"checkpoints 1..{number - 1} are missing", checkpoint=1)
            return heads
        if last_id is not None and number != last_id + 1:
            report.fail(f"checkpoint {last_id + 1} is missing (found {number})", checkpoint=last_id + 1)
            return heads
        body = payload(cp["size"], cp["head_hash"], cp["time"], cp["prev_checkpoint_hash"])
        if hashlib.sha256(body).hexdigest() != cp["hash"]:
            report.fail("hash does not match the checkpoint's payload", checkpoint=number)
            return heads
        try:
            assert public_key is not None
            public_key.verify(base64.b64decode(cp["signature"]), body)
        except (InvalidSignature, ValueError):
            signer = cp.get("key_id")
            hint = f" (signed as key {signer}, verifying with key {key_id(public_key)})" if public_key else ""
            report.fail(f"signature does not verify{hint}", checkpoint=number)
            return heads
        if (last_id is not None or full) and cp["prev_checkpoint_hash"] != prev:
            report.fail("prev_checkpoint_hash does not name the preceding checkpoint", checkpoint=number)
            return heads
        if cp["size"] < last_size:
            report.fail(f"size went backwards ({last_size} → {cp['size']})", checkpoint=number)
            return heads
        if cp["size"] in heads and heads[cp["size"]][1] != cp["head_hash"]:
            report.fail(
                f"signs another head for size {cp['size']} than checkpoint {heads[cp['size']][0]}", checkpoint=number
            )
            return heads
        heads.setdefault(cp["size"], (number, cp["head_hash"]))
        prev, last_size, last_id = cp["hash"], cp["size"], number
        report.checkpoints += 1
    return heads
