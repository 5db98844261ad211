"""Access-token verification: everything the hardened wrapper must refuse, through a real route."""

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from app.auth import clients, keys
from app.auth.keys import WRAP_PURPOSE
from app.core.crypto import derive_key, unwrap
from tests.auth import forge
from tests.builders import World


def me(client: TestClient, token: str) -> Any:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def service_private_key(world: World):  # type: ignore[no-untyped-def]
    key = keys.active_key(world.db)
    assert key is not None
    pem = unwrap(derive_key(world.settings.secret_key, WRAP_PURPOSE), key.private_key_wrapped, context=key.kid)
    return key, serialization.load_pem_private_key(pem, password=None)


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


class TestValidToken:
    def test_me_shows_agency_roles_scopes_and_agreement(self, world: World) -> None:
        token = world.token("KASN")
        response = me(world.client, token)
        assert response.status_code == 200
        body = response.json()
        assert body["agency_code"] == "KASN"
        assert body["roles"] == ["case_authority"]
        assert body["scopes"] == ["cases:read", "cases:write", "identity:read", "sanctions:write"]
        assert body["agreement"]["code"] == "PKS-2024-APTIKA-KASN"
        assert body["agreement"]["state"] == "active"
        assert body["token_id"] == claims_of(token)["jti"]

    def test_claims_follow_rfc9068(self, world: World) -> None:
        claims = claims_of(world.token("APTIKA"))
        assert claims["iss"] == world.settings.issuer
        assert claims["aud"] == world.settings.audience
        assert claims["sub"] == claims["client_id"] == world.clients["APTIKA"].client_id
        assert claims["exp"] - claims["iat"] == world.settings.access_token_ttl_seconds
        assert claims["jti"] and claims["scope"] == "reports:read reports:write"


class TestMissingOrMalformed:
    def test_no_token_is_401_with_bearer_challenge(self, world: World) -> None:
        response = world.client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"

    def test_basic_scheme_is_401(self, world: World) -> None:
        response = world.client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        assert response.status_code == 401

    @pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c.d", "..", "x" * 9000])
    def test_not_three_segments_or_too_large(self, world: World, token: str) -> None:
        assert_invalid_token(me(world.client, token))

    def test_token_over_8_kib_with_valid_shape(self, world: World) -> None:
        key, private = service_private_key(world)
        claims = {**claims_of(world.token("APTIKA")), "padding": "p" * 9000}
        assert_invalid_token(
            me(world.client, forge.sign_rs256(private, {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims))
        )


class TestForgedTokens:
    def test_alg_none(self, world: World) -> None:
        claims = claims_of(world.token("APTIKA"))
        token = (
            forge.encode_unsigned({"alg": "none", "typ": "at+jwt", "kid": keys.active_key(world.db).kid}, claims) + "."
        )
        assert_invalid_token(me(world.client, token))

    @pytest.mark.parametrize("encoding", ["PEM", "DER"])
    def test_hs256_signed_with_the_public_key(self, world: World, encoding: str) -> None:
        key = keys.active_key(world.db)
        secret = forge.public_key_bytes(key.public_jwk, encoding)
        claims = claims_of(world.token("APTIKA"))
        token = forge.sign_hs256(secret, {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, claims)
        assert_invalid_token(me(world.client, token))

    def test_signed_by_another_rsa_key_with_our_kid(self, world: World) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = keys.active_key(world.db)
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = forge.sign_rs256(
            stranger, {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims_of(world.token("APTIKA"))
        )
        assert_invalid_token(me(world.client, token))

    def test_tampered_payload(self, world: World) -> None:
        header, _payload, signature = world.token("BAWASLU").split(".")
        claims = {**claims_of(world.token("BAWASLU")), "scope": "cases:read cases:write"}
        payload = forge.b64(json.dumps(claims).encode())
        assert_invalid_token(me(world.client, f"{header}.{payload}.{signature}"))


class TestClaimRules:
    """Tokens signed with the service's own key but with bad claims or headers: only the rule refuses them."""

    def sign(
        self, world: World, header_changes: dict[str, Any] | None = None, drop: str | None = None, **claim_changes: Any
    ) -> str:
        key, private = service_private_key(world)
        claims = claims_of(world.token("APTIKA"))
        claims.update(claim_changes)
        if drop:
            del claims[drop]
        header = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid, **(header_changes or {})}
        return forge.sign_rs256(private, header, claims)

    def test_control_the_forger_makes_acceptable_tokens(self, world: World) -> None:
        assert me(world.client, self.sign(world)).status_code == 200

    @pytest.mark.parametrize("claim", ["exp", "aud", "iss", "sub", "jti", "iat", "client_id", "scope"])
    def test_missing_claim(self, world: World, claim: str) -> None:
        assert_invalid_token(me(world.client, self.sign(world, drop=claim)))

    def test_wrong_audience(self, world: World) -> None:
        assert_invalid_token(me(world.client, self.sign(world, aud="another-api")))

    def test_wrong_issuer(self, world: World) -> None:
        assert_invalid_token(me(world.client, self.sign(world, iss="https://evil.example")))

    def test_expired_beyond_leeway(self, world: World) -> None:
        now = int(world.clock.now().timestamp())
        leeway = world.settings.leeway_seconds
        assert me(world.client, self.sign(world, iat=now - 200, exp=now - leeway + 1)).status_code == 200
        assert_invalid_token(me(world.client, self.sign(world, iat=now - 200, exp=now - leeway - 1)))

    def test_issued_in_the_future_beyond_leeway(self, world: World) -> None:
        now = int(world.clock.now().timestamp())
        leeway = world.settings.leeway_seconds
        assert me(world.client, self.sign(world, iat=now + leeway - 1, exp=now + 200)).status_code == 200
        assert_invalid_token(me(world.client, self.sign(world, iat=now + leeway + 1, exp=now + 200)))

    def test_lifetime_longer_than_allowed(self, world: World) -> None:
        now = int(world.clock.now().timestamp())
        assert_invalid_token(
            me(world.client, self.sign(world, iat=now, exp=now + world.settings.access_token_ttl_seconds + 1))
        )

    def test_unknown_kid(self, world: World) -> None:
        assert_invalid_token(me(world.client, self.sign(world, {"kid": "no-such-key"})))

    @pytest.mark.parametrize(
        "header",
        [
            {"jku": "https://evil.example/jwks.json"},
            {"x5u": "https://evil.example/cert.pem"},
            {"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
            {"crit": ["exp"]},
        ],
    )
    def test_key_or_extension_headers_refused(self, world: World, header: dict[str, Any]) -> None:
        assert_invalid_token(me(world.client, self.sign(world, header)))

    @pytest.mark.parametrize("typ", ["JWT", "at+JWT+x", None])
    def test_typ_must_be_at_jwt(self, world: World, typ: str | None) -> None:
        header = {"typ": typ} if typ else {"typ": ""}
        assert_invalid_token(me(world.client, self.sign(world, header)))

    def test_application_at_jwt_typ_is_accepted(self, world: World) -> None:
        assert me(world.client, self.sign(world, {"typ": "application/at+jwt"})).status_code == 200


class TestStateChecks:
    def test_disabled_client_token_refused_at_once(self, world: World) -> None:
        token = world.token("APTIKA")
        assert me(world.client, token).status_code == 200
        clients.disable(world.db, client_id=world.clients["APTIKA"].client_id, now=world.clock.now())
        world.db.commit()
        assert_invalid_token(me(world.client, token))

    def test_revoked_token_refused(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        token, other = world.token("APTIKA", fresh=True), world.token("APTIKA", fresh=True)
        response = world.client.post(
            "/oauth/revoke", data={"token": token}, auth=(seeded.client_id, seeded.secret or "")
        )
        assert response.status_code == 200
        assert_invalid_token(me(world.client, token))
        assert me(world.client, other).status_code == 200

    def test_revoking_another_clients_token_does_nothing(self, world: World) -> None:
        kasn_token = world.token("KASN")
        seeded = world.clients["APTIKA"]
        response = world.client.post(
            "/oauth/revoke", data={"token": kasn_token}, auth=(seeded.client_id, seeded.secret or "")
        )
        assert response.status_code == 200
        assert me(world.client, kasn_token).status_code == 200

    def test_revoke_requires_client_authentication(self, world: World) -> None:
        response = world.client.post("/oauth/revoke", data={"token": world.token("APTIKA")})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    def test_expiry_by_the_clock(self, world: World) -> None:
        token = world.token("APTIKA")
        assert me(world.client, token).status_code == 200  # verified once: the server remembers the signature
        world.clock.advance(seconds=world.settings.access_token_ttl_seconds + world.settings.leeway_seconds + 1)
        assert_invalid_token(me(world.client, token))
