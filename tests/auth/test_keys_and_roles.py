"""Key rotation, role transfer and scope enforcement: state changes that bite on the next request."""

from typing import Annotated

from fastapi import APIRouter
from sqlmodel import select

from app.auth import keys
from app.auth.deps import requires
from app.auth.models import SigningKey
from app.auth.service import Principal
from tests.auth.test_access_tokens import assert_invalid_token, me
from tests.builders import World


class TestKeyRotation:
    def test_old_tokens_work_until_expiry_new_tokens_use_new_kid(self, world: World) -> None:
        old_token = world.token("APTIKA")
        old_kid = keys.active_key(world.db).kid
        new_key = keys.rotate(world.db, settings=world.settings, now=world.clock.now())
        world.db.commit()
        new_token = world.token("APTIKA", fresh=True)
        import jwt as pyjwt

        assert pyjwt.get_unverified_header(new_token)["kid"] == new_key.kid != old_kid
        assert me(world.client, old_token).status_code == 200
        published = {k["kid"] for k in world.client.get("/.well-known/jwks.json").json()["keys"]}
        assert published == {old_kid, new_key.kid}

        world.clock.advance(seconds=world.settings.access_token_ttl_seconds + world.settings.leeway_seconds + 1)
        published = {k["kid"] for k in world.client.get("/.well-known/jwks.json").json()["keys"]}
        assert published == {new_key.kid}

    def test_retired_keys_tokens_are_refused(self, world: World) -> None:
        token = world.token("APTIKA")
        assert me(world.client, token).status_code == 200  # verified once: the server remembers the signature
        old_kid = keys.active_key(world.db).kid
        keys.rotate(world.db, settings=world.settings, now=world.clock.now())
        keys.retire_now(world.db, kid=old_kid, now=world.clock.now())
        world.db.commit()
        assert_invalid_token(me(world.client, token))

    def test_private_keys_are_stored_wrapped(self, world: World) -> None:
        for key in world.db.exec(select(SigningKey)):
            assert "PRIVATE KEY" not in key.private_key_wrapped
            assert "d" not in key.public_jwk


class TestRoleTransfer:
    def test_transfer_moves_scopes_on_the_next_request(self, world: World, run) -> None:  # type: ignore[no-untyped-def]
        world.add_agency("BKN", [])
        bkn = world.add_client("BKN", ["cases:read", "cases:write", "sanctions:write", "identity:read"])
        kasn_token = world.token("KASN")
        assert world.token_response(f"BKN:{bkn.client_id}").status_code == 400  # no role yet: invalid_scope

        assert run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "BKN")[0] == 0

        kasn_me = me(world.client, kasn_token).json()
        assert kasn_me["roles"] == [] and kasn_me["scopes"] == []
        assert world.token_response("KASN").json()["error"] == "invalid_scope"
        bkn_me = me(world.client, world.token(f"BKN:{bkn.client_id}")).json()
        assert bkn_me["roles"] == ["case_authority"]
        assert "cases:write" in bkn_me["scopes"]


def scoped_route(world: World) -> None:
    router = APIRouter()

    @router.get("/test/needs-cases-write")
    def needs_cases_write(principal: Annotated[Principal, requires("cases:write")]) -> dict[str, str]:
        return {"agency": principal.agency_code}

    world.client.app.include_router(router)  # type: ignore[attr-defined]


class TestScopeEnforcement:
    def test_wrong_scope_is_403_insufficient_scope(self, world: World) -> None:
        scoped_route(world)
        response = world.client.get("/test/needs-cases-write", headers=world.auth("BAWASLU"))
        assert response.status_code == 403
        assert response.json()["type"] == "/problems/insufficient-scope"
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
        assert 'scope="cases:write"' in response.headers["www-authenticate"]

    def test_token_narrowed_at_request_lacks_the_scope(self, world: World) -> None:
        scoped_route(world)
        response = world.client.get("/test/needs-cases-write", headers=world.auth("KASN", scope="cases:read"))
        assert response.status_code == 403

    def test_right_scope_passes(self, world: World) -> None:
        scoped_route(world)
        response = world.client.get("/test/needs-cases-write", headers=world.auth("KASN"))
        assert response.status_code == 200 and response.json() == {"agency": "KASN"}
