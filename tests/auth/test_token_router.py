import base64
import json

from sqlmodel import select

from app.auth.models import UsedAssertion
from tests.builders import World


class TestIssueToken:
    def test_client_secret_basic_gets_rfc9068_token(self, world: World) -> None:
        response = world.token_response("APTIKA")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == world.settings.access_token_ttl_seconds
        assert set(body["scope"].split()) == {"reports:read", "reports:write"}
        header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
        assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
        assert "refresh_token" not in body

    def test_client_secret_post_works(self, world: World) -> None:
        seeded = world.clients["KASN"]
        response = world.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": seeded.client_id, "client_secret": seeded.secret},
        )
        assert response.status_code == 200
        assert "cases:write" in response.json()["scope"].split()

    def test_narrower_scope_on_request(self, world: World) -> None:
        response = world.token_response("KASN", scope="cases:read")
        assert response.json()["scope"] == "cases:read"

    def test_scope_the_agency_may_not_have_is_invalid_scope(self, world: World) -> None:
        response = world.token_response("BAWASLU", scope="cases:read cases:write")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"
        assert response.headers["content-type"].startswith("application/json")

    def test_wrong_secret_is_invalid_client_with_www_authenticate(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        response = world.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(seeded.client_id, "not-the-secret")
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")

    def test_unknown_client_is_invalid_client(self, world: World) -> None:
        response = world.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x" * 43)
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    def test_no_authentication_is_invalid_client(self, world: World) -> None:
        response = world.client.post("/oauth/token", data={"grant_type": "client_credentials"})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    def test_unsupported_grant_type(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        response = world.client.post(
            "/oauth/token", data={"grant_type": "password"}, auth=(seeded.client_id, seeded.secret or "")
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"

    def test_missing_grant_type_is_invalid_request_not_422(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        response = world.client.post("/oauth/token", data={}, auth=(seeded.client_id, seeded.secret or ""))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_a_parameter_longer_than_the_contract_says_is_invalid_request(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        form = {"grant_type": "client_credentials", "scope": "reports:read " * 100}  # 1,300 > 1,000
        response = world.client.post("/oauth/token", data=form, auth=(seeded.client_id, seeded.secret or ""))
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "parameter scope is longer than 1000",
        }
        declared = world.client.get("/openapi.json").json()["paths"]["/oauth/token"]["post"]["requestBody"]
        assert (
            declared["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]["scope"]["maxLength"]
            == 1000
        )

    def test_json_body_is_invalid_request(self, world: World) -> None:
        response = world.client.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_two_authentication_methods_is_invalid_request(self, world: World) -> None:
        seeded = world.clients["APTIKA"]
        response = world.client.post(
            "/oauth/token",
            auth=(seeded.client_id, seeded.secret or ""),
            data={"grant_type": "client_credentials", "client_id": seeded.client_id, "client_secret": seeded.secret},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_disabled_client_cannot_get_tokens(self, world: World) -> None:
        from app.auth import clients

        clients.disable(world.db, client_id=world.clients["APTIKA"].client_id, now=world.clock.now())
        world.db.commit()
        response = world.token_response("APTIKA")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"

    def test_no_used_assertion_rows_for_secret_clients(self, world: World) -> None:
        world.token("APTIKA")
        assert world.db.exec(select(UsedAssertion)).all() == []


class TestJwks:
    def test_publishes_public_keys_only(self, world: World) -> None:
        response = world.client.get("/.well-known/jwks.json")
        assert response.status_code == 200
        (key,) = response.json()["keys"]
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
        assert "d" not in key and "p" not in key
