"""Offline verification of a 100,000-row audit export: how long it takes, against reading the file.

Builds a realistic export (rows shaped like the service's, chained with the service's own hash) and signed
checkpoints every 10,000 rows, then times, in the same run:
- ``parse``   reading the JSON Lines file and decoding every row (the floor any verifier pays);
- ``verify``  ``app.audit.verify.verify`` over the same file: chain, signatures, signed heads;
- ``cli``     ``netral audit verify --export … --checkpoints … --public-key …`` end to end, a fresh
              process, as an auditor runs it.
Usage: ``python bench/audit_verify.py [--rows 100000]``. The duration is reported, never asserted.
"""

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from app.audit import checkpoints  # noqa: E402
from app.audit.service import chain_hash  # noqa: E402
from app.audit.verify import verify  # noqa: E402

ACTIONS = ["get_case", "list_cases", "submit_report", "transition_case", "list_events", "issue_token"]


def build(directory: Path, rows: int) -> tuple[Path, Path, Path]:
    key = Ed25519PrivateKey.generate()
    export, cps, pem = directory / "audit.jsonl", directory / "checkpoints.jsonl", directory / "audit.pem"
    start = datetime(2024, 6, 3, tzinfo=UTC)
    prev, cp_prev, cp_lines = "0" * 64, "0" * 64, []
    with export.open("w") as handle:
        for seq in range(1, rows + 1):
            row = {
                "seq": seq,
                "at": checkpoints.format_time(start + timedelta(milliseconds=seq * 37)),
                "request_id": str(uuid.uuid4()),
                "agency": "KASN",
                "client_id": "kasn-0123456789abcdef",
                "token_id": str(uuid.uuid4()),
                "roles": "case_authority",
                "action": ACTIONS[seq % len(ACTIONS)],
                "object_ids": {"case_id": str(uuid.uuid4()), "report_ids": [str(uuid.uuid4())]},
                "outcome": "allowed" if seq % 17 else "refused",
                "status": 200 if seq % 17 else 403,
                "client_ip": "10.20.30.40",
                "body_sha256": hashlib.sha256(str(seq).encode()).hexdigest() if seq % 3 == 0 else None,
            }
            row["prev_hash"], row["hash"] = prev, chain_hash(prev, row)
            prev = row["hash"]
            handle.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")
            if seq % 10_000 == 0:
                time_ = checkpoints.format_time(start + timedelta(milliseconds=seq * 37 + 1))
                body = checkpoints.payload(seq, prev, time_, cp_prev)
                document = {
                    "id": seq // 10_000,
                    "size": seq,
                    "head_hash": prev,
                    "time": time_,
                    "prev_checkpoint_hash": cp_prev,
                    "key_id": checkpoints.key_id(key.public_key()),
                    "signature": base64.b64encode(key.sign(body)).decode(),
                    "hash": hashlib.sha256(body).hexdigest(),
                }
                cp_prev = document["hash"]
                cp_lines.append(json.dumps(document, sort_keys=True))
    cps.write_text("\n".join(cp_lines) + "\n")
    pem.write_text(checkpoints.public_pem(key.public_key()))
    return export, cps, pem


def timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return label, time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        export, cps, pem = build(Path(tmp), args.rows)
        size_mb = export.stat().st_size / 1e6

        def parse() -> int:
            with export.open() as handle:
                return sum(1 for line in handle if json.loads(line))

        def verify_in_process() -> str:
            with export.open() as handle:
                report = verify(
                    (json.loads(line) for line in handle),
                    [json.loads(line) for line in cps.read_text().splitlines()],
                    checkpoints.load_public_key(pem.read_text()),
                )
            assert report.ok, report.summary()
            return report.summary()

        def cli() -> str:
            command = [sys.executable, "-m", "app.cli", "audit", "verify", "--export", str(export)]
            command += ["--checkpoints", str(cps), "--public-key", str(pem)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
            return done.stdout.strip()

        results = [timed("parse", parse), timed("verify", verify_in_process), timed("cli", cli)]
    base = results[0][1]
    print(f"{args.rows} rows, {size_mb:.1f} MB export, {args.rows // 10_000} checkpoints")
    for label, seconds, _ in results:
        print(f"{label:<7} {seconds:>7.2f} s  {args.rows / seconds:>9.0f} rows/s  {seconds / base:>5.2f}x parse")
    print(results[2][2])


if __name__ == "__main__":
    main()
