"""A push's write path: one program (app/core/programs.py) run on the session (SQLite) or on the async
driver inside one transaction block of its own (PostgreSQL). What a reporter and an auditor rely on, on both
backends: a refused push leaves nothing behind (the case it would have opened, its history, its feed events),
its refusal is on record, and the next push on the same server works; a write's audit row commits with it."""

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.builders import World, push, report_payload


def count(world: World, sql: str, **params: Any) -> int:
    world.db.rollback()  # a fresh snapshot
    return int(world.db.connection().execute(text(sql), params).scalar_one())


def test_a_push_refused_after_its_case_was_opened_leaves_nothing(world: World) -> None:
    assert push(world, report_payload("R-1", content_url="https://x.com/a/status/1")).status_code == 201
    before = {
        table: count(world, f"SELECT count(*) FROM {table}")  # noqa: S608  # the test's own table names
        for table in ("case_file", "report", "case_status_change", "feed_event", "idempotency_record")
    }
    # Same reference, another URL: the program opens a new case, then the report's insert finds the
    # reference taken and the whole unit is refused.
    payload = report_payload("R-1", content_url="https://x.com/b/status/2")
    refused = push(world, payload, key="refused-1")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["pointer"] == "/body/reference"
    after = {
        table: count(world, f"SELECT count(*) FROM {table}")  # noqa: S608
        for table in ("case_file", "report", "case_status_change", "feed_event", "idempotency_record")
    }
    assert after == before
    assert count(world, "SELECT count(*) FROM case_file WHERE content_url = :u", u=payload["content_url"]) == 0
    outcome = world.db.connection().execute(
        text("SELECT action, outcome, status FROM audit_event ORDER BY id DESC LIMIT 1")
    )
    assert tuple(outcome.one()) == ("submit_report", "refused", 409)
    # The key was not spent on the refusal: the same key with a free reference is a first request.
    fixed = push(world, {**payload, "reference": "R-2"}, key="refused-1")
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


def test_a_push_and_its_audit_row_commit_together(world: World) -> None:
    response = push(world, report_payload("R-1"), key="together-1")
    assert response.status_code == 201
    assert response.headers["audit-receipt"]
    body = response.json()
    world.db.rollback()
    row = (
        world.db.connection()
        .execute(text("SELECT action, outcome, status, object_ids FROM audit_event ORDER BY id DESC LIMIT 1"))
        .one()
    )
    assert (row.action, row.outcome, row.status) == ("submit_report", "allowed", 201)
    objects = json.loads(row.object_ids) if isinstance(row.object_ids, str) else row.object_ids  # SQLite: text
    assert objects["report_ids"] == [body["id"]] and objects["case_ids"] == [body["case"]["id"]]
    events = world.db.connection().execute(text("SELECT kind, case_id FROM feed_event ORDER BY position"))
    kinds = [e.kind for e in events if uuid.UUID(str(e.case_id)) == uuid.UUID(body["case"]["id"])]
    assert kinds == ["case.status_changed", "report.received"]
    history = world.db.connection().execute(text("SELECT case_id, from_status, to_status FROM case_status_change"))
    moves = [
        (h.from_status, h.to_status) for h in history if uuid.UUID(str(h.case_id)) == uuid.UUID(body["case"]["id"])
    ]
    assert moves == [(None, "submitted")]
    replay = push(world, report_payload("R-1"), key="together-1")
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == body


@pytest.mark.postgresql_only
def test_pushes_go_on_after_the_database_dropped_the_servers_connections(world: World) -> None:
    assert push(world, report_payload("D-0", content_url="https://x.com/d/status/0")).status_code == 201
    world.db.connection().execute(  # every other connection to this database: the server's, idle
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    world.db.commit()
    first = push(world, report_payload("D-1", content_url="https://x.com/d/status/1"), key="dropped-1")
    assert first.status_code in (201, 503)
    if first.status_code == 503:  # found on use: a clear answer, never a 500, and nothing written
        assert first.headers["content-type"] == "application/problem+json" and first.headers["retry-after"]
    again = push(world, report_payload("D-1", content_url="https://x.com/d/status/1"), key="dropped-1")
    assert again.status_code == 201
    assert count(world, "SELECT count(*) FROM report WHERE reference = 'D-1'") == 1


def test_a_transition_refused_by_its_etag_leaves_nothing(world: World) -> None:
    case_id = push(world, report_payload("T-1")).json()["case"]["id"]
    kasn = world.auth("KASN")
    body = {"to": "screening", "reason": "per procedure"}
    moved = world.client.post(
        f"/api/v1/cases/{case_id}/transitions", json=body, headers={**kasn, "If-Match": f'"{case_id}.1"'}
    )
    assert moved.status_code == 200 and moved.headers["etag"] == f'"{case_id}.2"'
    before = {
        table: count(world, f"SELECT count(*) FROM {table}")  # noqa: S608
        for table in ("case_status_change", "feed_event")
    }
    stale = world.client.post(  # the ETag it held before the move: the compare-and-set refuses it
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "rejected", "reason": "late"},
        headers={**kasn, "If-Match": f'"{case_id}.1"'},
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    after = {
        table: count(world, f"SELECT count(*) FROM {table}")  # noqa: S608
        for table in ("case_status_change", "feed_event")
    }
    assert after == before
    read = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
    assert read.json()["status"] == "screening" and read.headers["etag"] == f'"{case_id}.2"'
    assert read.json() == moved.json()
    world.db.rollback()  # a fresh snapshot
    last = world.db.connection().execute(text("SELECT action, outcome, status FROM audit_event ORDER BY id DESC"))
    assert [tuple(r) for r in last.fetchmany(2)] == [("get_case", "allowed", 200), ("transition_case", "refused", 412)]


def test_a_batch_writes_every_items_rows(world: World) -> None:
    """Several reports in one unit: each item's history row and feed events, and the batch's one audit row."""
    items = [report_payload(f"B-{n}", content_url=f"https://x.com/batch/status/{n}") for n in range(3)]
    headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-1"}
    response = world.client.post("/api/v1/reports:batch", json={"items": items}, headers=headers)
    assert response.status_code == 201, response.text
    cases = {uuid.UUID(item["case"]["id"]) for item in response.json()["items"]}
    assert len(cases) == 3
    world.db.rollback()
    history = world.db.connection().execute(text("SELECT case_id, to_status FROM case_status_change"))
    opened = sorted(uuid.UUID(str(h.case_id)) for h in history if uuid.UUID(str(h.case_id)) in cases)
    assert opened == sorted(cases)  # one "submitted" row each
    events = world.db.connection().execute(text("SELECT kind, case_id FROM feed_event ORDER BY position"))
    received = [uuid.UUID(str(e.case_id)) for e in events if e.kind == "report.received"]
    assert sorted(c for c in received if c in cases) == sorted(cases)
    row = (
        world.db.connection()
        .execute(text("SELECT action, outcome, status FROM audit_event ORDER BY id DESC LIMIT 1"))
        .one()
    )
    assert tuple(row) == ("submit_report_batch", "allowed", 201)


def test_a_transition_of_an_unknown_case_is_404_and_writes_nothing(world: World) -> None:
    before = count(world, "SELECT count(*) FROM case_status_change")
    unknown = uuid.uuid4()
    refused = world.client.post(
        f"/api/v1/cases/{unknown}/transitions",
        json={"to": "screening", "reason": "per procedure"},
        headers={**world.auth("KASN"), "If-Match": "*"},
    )
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    assert count(world, "SELECT count(*) FROM case_status_change") == before
    last = world.db.connection().execute(text("SELECT action, outcome, status FROM audit_event ORDER BY id DESC"))
    assert tuple(last.first() or ()) == ("transition_case", "refused", 404)
