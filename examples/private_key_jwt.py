"""Any agency system may authenticate with a key pair instead of a shared secret (private_key_jwt, RFC 7523):
the secret never travels, and the service holds only the public key.

  python examples/private_key_jwt.py keygen client.pem     # prints the public JWK to register:
  netral clients create --agency KOMINFO --name monitoring --scope reports:write --jwk client.jwk
  NETRAL_CLIENT_ID=… NETRAL_PRIVATE_KEY=client.pem python examples/private_key_jwt.py
"""

import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from netral_client import b64url, check, connect


def keygen(pem_path: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(pem_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    print(json.dumps(jwk))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "keygen":
        keygen(sys.argv[2])
        return
    api = connect()  # NETRAL_PRIVATE_KEY set: the token is obtained with a signed assertion
    me = check(api.get("/api/v1/me")).json()
    scopes = " ".join(me["scopes"])
    print(f"authenticated with private_key_jwt as {me['client_id']} of {me['agency_code']}; scopes {scopes}")


if __name__ == "__main__":
    sys.exit(main())
