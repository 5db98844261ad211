"""Housekeeping through `netral housekeeping`: expired idempotency records, revocations and used client
assertions go; live ones stay; an expired key is then a new request, and the reference still refuses a
duplicate report."""

from datetime import timedelta
from typing import Any

from sqlmodel import select

from app.auth.models import RevokedToken, UsedAssertion
from app.core.idempotency import IdempotencyRecord
from tests.builders import World, push, report_payload


def count(world: World, model: type) -> int:
    world.db.rollback()  # a fresh snapshot: the CLI wrote in its own transaction
    return len(world.db.exec(select(model)).all())


def test_expired_rows_are_pruned_and_live_ones_kept(world: World, run: Any) -> None:
    assert push(world, report_payload("HK-OLD"), key="old-key").status_code == 201
    kasn = world.clients["KASN"]
    old_token = world.token("KASN", fresh=True)
    assert (
        world.client.post("/oauth/revoke", data={"token": old_token}, auth=(kasn.client_id, kasn.secret)).status_code
        == 200
    )
    world.db.add(UsedAssertion(client_id="x", jti="spent", expires_at=world.clock.now() + timedelta(minutes=5)))
    world.db.commit()

    world.clock.advance(seconds=world.settings.idempotency_retention_hours * 3600 + 60)
    assert push(world, report_payload("HK-NEW"), key="new-key").status_code == 201
    new_token = world.token("KASN", fresh=True)
    assert (
        world.client.post("/oauth/revoke", data={"token": new_token}, auth=(kasn.client_id, kasn.secret)).status_code
        == 200
    )
    assert (count(world, IdempotencyRecord), count(world, RevokedToken), count(world, UsedAssertion)) == (2, 2, 1)

    code, output = run("housekeeping")
    assert code == 0, output
    assert "idempotency_record 1, revoked_token 1, used_assertion 1" in output
    world.db.rollback()
    assert [r.key for r in world.db.exec(select(IdempotencyRecord))] == ["new-key"]
    assert count(world, RevokedToken) == 1 and count(world, UsedAssertion) == 0
    # the revocation still in force still bites
    refused = world.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {new_token}"})
    assert refused.status_code == 401

    # The forgotten key is a new request; the report's reference still refuses the duplicate.
    again = push(world, report_payload("HK-OLD"), key="old-key")
    assert again.status_code == 409 and "Idempotent-Replayed" not in again.headers
    assert run("housekeeping")[1].strip() == "pruned: idempotency_record 0, revoked_token 0, used_assertion 0"
