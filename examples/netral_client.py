"""The little every Netral client needs: where the service is, and an access token from its token endpoint,
as a real agency system gets one. httpx only (plus `cryptography` to sign a private_key_jwt assertion).

Settings, from the environment:
  NETRAL_URL            the service, e.g. https://netral.example.go.id (default http://127.0.0.1:8000)
  NETRAL_CLIENT_ID      your client's id (from `netral clients create`)
  NETRAL_CLIENT_SECRET  its secret, or instead:
  NETRAL_PRIVATE_KEY    the path of its RSA private key (PEM) registered with `--jwk` (private_key_jwt)
"""

import base64
import json
import os
import time
import uuid

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(client_id: str, token_url: str, private_key_pem: bytes) -> str:
    """RFC 7523: a short-lived JWT naming this client, signed with its private key (RS256)."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    assert isinstance(key, rsa.RSAPrivateKey), "an RSA key (RS256)"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def connect() -> httpx.Client:
    """An httpx client for the API, carrying a fresh access token."""
    base = os.environ.get("NETRAL_URL", "http://127.0.0.1:8000").rstrip("/")
    client_id = os.environ["NETRAL_CLIENT_ID"]
    token_url = f"{base}/oauth/token"
    form = {"grant_type": "client_credentials"}
    if os.environ.get("NETRAL_PRIVATE_KEY"):
        with open(os.environ["NETRAL_PRIVATE_KEY"], "rb") as f:
            pem = f.read()
        form |= {
            "client_id": client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(client_id, token_url, pem),
        }
        answer = httpx.post(token_url, data=form)
    else:
        answer = httpx.post(token_url, data=form, auth=(client_id, os.environ["NETRAL_CLIENT_SECRET"]))
    if answer.status_code != 200:
        raise SystemExit(f"token refused: {answer.status_code} {answer.text}")
    token = answer.json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def check(response: httpx.Response, *expected: int) -> httpx.Response:
    """Stops with the service's problem document (RFC 9457) when the answer is not one expected."""
    if response.status_code not in (expected or (200,)):
        raise SystemExit(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response
