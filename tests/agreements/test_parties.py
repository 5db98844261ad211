"""Agreement parties: an agency created after an agreement joins it by an operator command, and until then
its client is told which agreement it is missing from."""

from typing import Any

from app.access.roles import Role
from app.agencies import service as agencies
from tests.builders import World

PKS = "PKS-2024-APTIKA-KASN"


def test_a_new_agency_joins_an_agreement_with_add_party(world: World, run: Any) -> None:
    agencies.create(world.db, code="KOMDIGI", name="Komdigi", roles=[Role.reporter], now=world.clock.now())
    world.db.commit()
    client = world.add_client("KOMDIGI", ["reports:read", "reports:write"])
    refused = world.token_response(f"KOMDIGI:{client.client_id}")
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "invalid_scope"
    assert "KOMDIGI is not a party to any agreement (in force: PKS-2024-APTIKA-KASN)" in body["error_description"]
    assert "netral agreements add-party <AGREEMENT> --agency KOMDIGI" in body["error_description"]

    code, out = run("agreements", "add-party", PKS, "--agency", "KOMDIGI")
    assert code == 0, out
    granted = world.token_response(f"KOMDIGI:{client.client_id}")
    assert granted.status_code == 200 and granted.json()["scope"] == "reports:read reports:write"
    assert "KOMDIGI" in run("agreements", "show")[1]


def test_add_party_refusals(world: World, run: Any) -> None:
    code, out = run("agreements", "add-party", PKS, "--agency", "KASN")
    assert code == 1 and "already" in out
    assert run("agreements", "add-party", "NO-SUCH", "--agency", "KASN")[0] == 1
    assert run("agreements", "add-party", PKS, "--agency", "NOPE")[0] == 1
