"""Authorisation changes bite on the very next request in every server process, although each process
caches resolved principals: two real `netral serve` processes, warmed up, then an operator change."""

from typing import Any

import httpx

from tests.builders import World
from tests.live_server import netral_serve


def token(url: str, world: World, agency: str) -> str:
    seeded = world.clients[agency]
    response = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "cases:read"},
        auth=(seeded.client_id, seeded.secret or ""),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_disabled_client_is_refused_next_request_in_every_process(world: World, run: Any, database_url: str) -> None:
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        bearer = {"Authorization": f"Bearer {token(first, world, 'BAWASLU')}"}
        for url in (first, second, first, second):  # each process has resolved and cached the principal
            assert httpx.get(f"{url}/api/v1/cases", headers=bearer).status_code == 200
        assert run("clients", "disable", world.clients["BAWASLU"].client_id)[0] == 0
        for url in (second, first):
            refused = httpx.get(f"{url}/api/v1/cases", headers=bearer)
            assert refused.status_code == 401 and refused.json()["type"] == "/problems/invalid-token"


def test_a_revoked_token_is_refused_next_request_in_the_other_process(world: World, database_url: str) -> None:
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        access = token(first, world, "KASN")
        bearer = {"Authorization": f"Bearer {access}"}
        assert httpx.get(f"{second}/api/v1/cases", headers=bearer).status_code == 200
        seeded = world.clients["KASN"]
        revoked = httpx.post(f"{first}/oauth/revoke", data={"token": access}, auth=(seeded.client_id, seeded.secret))
        assert revoked.status_code == 200
        assert httpx.get(f"{second}/api/v1/cases", headers=bearer).status_code == 401
