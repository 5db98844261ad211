"""The case read's path on PostgreSQL: psycopg's async driver from the event loop (app/core/adb.py). What a
caller relies on: the same answer as the session path gives, connections that the database dropped are
replaced by themselves, and requests from several event loops at once (a test client each) are served."""

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlmodel import select

from app.audit.models import AuditEvent
from tests.builders import World, push, report_payload

pytestmark = pytest.mark.postgresql_only


def test_a_case_read_answers_as_the_session_path_renders_it(world: World) -> None:
    case_id = push(world, report_payload()).json()["case"]["id"]
    kasn = world.auth("KASN")
    moved = world.client.post(  # the transition renders the case in its own transaction (a program)
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": "screening", "reason": "per procedure"},
        headers={**kasn, "If-Match": "*"},
    )
    assert moved.status_code == 200
    read = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
    assert read.status_code == 200
    assert read.json() == moved.json()
    assert read.headers["etag"] == moved.headers["etag"]
    row = (
        world.db.connection()
        .execute(text("SELECT action, outcome, status, object_ids FROM audit_event ORDER BY id DESC LIMIT 1"))
        .one()
    )
    assert (row.action, row.outcome, row.status) == ("get_case", "allowed", 200)
    assert row.object_ids["case_id"] == case_id


def test_connections_the_database_dropped_are_replaced(world: World) -> None:
    case_id = push(world, report_payload()).json()["case"]["id"]
    kasn = world.auth("KASN")
    assert world.client.get(f"/api/v1/cases/{case_id}", headers=kasn).status_code == 200
    before = rows(world)
    world.db.connection().execute(  # every other connection to this database: the server's, idle in its pools
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    world.db.commit()
    first = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
    assert first.status_code in (200, 503)
    if first.status_code == 503:  # a dropped connection found on use: a clear answer, never a 500
        assert first.headers["content-type"] == "application/problem+json"
        assert first.headers["retry-after"]
    again = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
    assert again.status_code == 200
    assert again.json()["id"] == case_id
    # Each answered read left its row; a 503 for a database found gone cannot write one (README, faults).
    assert rows(world) == before + (2 if first.status_code == 200 else 1)


def rows(world: World) -> int:
    world.db.rollback()
    return int(world.db.exec(select(func.count()).select_from(AuditEvent)).one())


def test_reads_from_several_event_loops_at_once(app: FastAPI, world: World) -> None:
    case_id = push(world, report_payload()).json()["case"]["id"]
    kasn = world.auth("KASN")
    answers: list[int] = []
    lock = threading.Lock()

    def reader() -> None:
        client = TestClient(app, raise_server_exceptions=False)  # an event loop per request
        for _ in range(10):
            status = client.get(f"/api/v1/cases/{case_id}", headers=kasn).status_code
            with lock:
                answers.append(status)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [200] * 40
