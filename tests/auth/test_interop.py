"""Interoperability with code nobody here wrote: Authlib obtains tokens, PyJWT verifies them via JWKS."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import SecretStr
from sqlmodel import Session

from app import demo
from app.core.clock import Clock
from app.core.config import Settings
from app.core.db import make_engine
from app.main import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.live_server import reserve_port, serve

pytestmark = pytest.mark.bare_database  # seeds itself, on the wall clock


class Live:
    def __init__(self, url: str, settings: Settings, seeded: dict[str, demo.SeededClient], engine: Any) -> None:
        self.url, self.settings, self.seeded, self.engine = url, settings, seeded, engine


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    """Real time (interop libraries use the wall clock), a real socket, the service's real token flow."""
    sock = reserve_port()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SecretStr(TEST_SECRET_KEY),  # type: ignore[call-arg]
        issuer=url,
    )
    engine = make_engine(database_url, sqlite_immediate=False)
    with Session(engine) as session:
        now = datetime.now(UTC)
        seeded = {c.agency_code: c for c in demo.seed(session, settings=settings, now=now)}
        session.commit()
    app = create_app(settings, Clock())
    with serve(app, sock) as base_url:
        yield Live(base_url, settings, seeded, engine)
    app.state.runtime.get().dispose()
    engine.dispose()


def verify_with_pyjwt(live: Live, token: str) -> dict[str, Any]:
    jwks_client = pyjwt.PyJWKClient(f"{live.url}/.well-known/jwks.json")
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return pyjwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256", "ES256"],
        audience=live.settings.audience,
        issuer=live.settings.issuer,
        options={"require": ["exp", "iat", "jti", "sub"]},
    )


def test_authlib_client_secret_basic_and_pyjwt_jwks(live: Live) -> None:
    seeded = live.seeded["KASN"]
    with OAuth2Client(seeded.client_id, seeded.secret, token_endpoint_auth_method="client_secret_basic") as oauth:
        token = oauth.fetch_token(f"{live.url}/oauth/token", grant_type="client_credentials", scope="cases:read")
        me = oauth.get(f"{live.url}/api/v1/me")
    assert token["token_type"] == "Bearer" and token["scope"] == "cases:read"
    assert me.status_code == 200 and me.json()["agency_code"] == "KASN"
    claims = verify_with_pyjwt(live, token["access_token"])
    assert claims["client_id"] == seeded.client_id and claims["scope"] == "cases:read"
    assert pyjwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"


class FreshClaimsPrivateKeyJWT(PrivateKeyJWT):
    """Authlib reuses a jti when given a fixed claims dict; a fresh dict per request gives a fresh jti."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def _register_jwk_client(live: Live, key_type: str = "EC") -> tuple[str, bytes]:
    from app.agencies import service as agencies
    from app.auth import clients

    private: Any
    if key_type == "RSA":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        public_jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    with Session(live.engine, expire_on_commit=False) as session:
        created = clients.create(
            session,
            settings=live.settings,
            agency=agencies.require_by_code(session, "APTIKA"),
            name="jwk client",
            scopes=["reports:write", "reports:read"],
            public_jwk=public_jwk,
            now=datetime.now(UTC),
        )
        session.commit()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert created.secret is None
    return created.client.client_id, pem


def test_authlib_private_key_jwt(live: Live) -> None:
    client_id, pem = _register_jwk_client(live, "RSA")
    token_url = f"{live.url}/oauth/token"
    auth = FreshClaimsPrivateKeyJWT(token_url)  # Authlib's default: RS256
    with OAuth2Client(client_id, client_secret=pem, token_endpoint_auth_method=auth) as oauth:
        first = oauth.fetch_token(token_url, grant_type="client_credentials")
        second = oauth.fetch_token(token_url, grant_type="client_credentials")
    assert first["scope"] == "reports:read reports:write"
    assert verify_with_pyjwt(live, second["access_token"])["sub"] == client_id


def test_replayed_assertion_is_refused(live: Live) -> None:
    from authlib.oauth2.rfc7523 import private_key_jwt_sign

    client_id, pem = _register_jwk_client(live)
    token_url = f"{live.url}/oauth/token"
    assertion = private_key_jwt_sign(pem, client_id, token_url, alg="ES256", claims={"exp": int(time.time()) + 60})
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    assert httpx.post(token_url, data=form).status_code == 200
    replay = httpx.post(token_url, data=form)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    assert "replay" in replay.json()["error_description"]


@pytest.mark.parametrize("change", ["long_lived", "wrong_audience", "wrong_key", "nul_in_jti"])
def test_bad_assertions_are_invalid_client(live: Live, change: str) -> None:
    from authlib.oauth2.rfc7523 import private_key_jwt_sign

    client_id, pem = _register_jwk_client(live)
    token_url = f"{live.url}/oauth/token"
    audience = "https://elsewhere.example/token" if change == "wrong_audience" else token_url
    exp = int(time.time()) + (3600 if change == "long_lived" else 60)
    if change == "wrong_key":
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    claims: dict[str, Any] = {"exp": exp}
    if change == "nul_in_jti":  # signed by the client itself: its jti would be stored against replays
        claims["jti"] = "replay\x00guard"
    assertion = private_key_jwt_sign(pem, client_id, audience, alg="ES256", claims=claims)
    response = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
