"""Writes the local secrets the embedded default needs into .env, once; never overwrites one that is there.

NETRAL_SECRET_KEY: the master secret. NETRAL_AUDIT_SIGNING_KEY: a separate Ed25519 seed (32 random bytes)
that signs audit checkpoints. .env is gitignored: these are this machine's, never the repository's.
"""

import base64
import secrets
from pathlib import Path

env = Path(".env")
present = env.read_text() if env.exists() else ""
names = {line.split("=", 1)[0].strip() for line in present.splitlines() if "=" in line}
wanted = {
    "NETRAL_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "NETRAL_AUDIT_SIGNING_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
}
added = [f"{name}={make()}" for name, make in wanted.items() if name not in names]
if added:
    with env.open("a") as handle:
        if present and not present.endswith("\n"):
            handle.write("\n")
        handle.write("\n".join(added) + "\n")
    print("wrote " + ", ".join(line.split("=", 1)[0] for line in added) + " to .env")
