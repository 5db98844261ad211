"""The statements a request sends to PostgreSQL, counted at the drivers: the engine's cursor executions, plus
BEGIN and COMMIT (or ROLLBACK) for every transaction block, and the request path's async statements. The
budget of issue #10, warm (the caller's token seen once before, as any real client's is)."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from tests.builders import World, push, report_payload

pytestmark = pytest.mark.postgresql_only


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)

    def cursor(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sql(statement)

    def sql(self, statement: str) -> None:
        self.statements.append(statement.strip().split("\n")[0][:100])

    def boundary(self, name: str) -> Any:
        def record(conn: Any) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                self.statements.append(name)

        return record


@pytest.fixture
def counted(app: FastAPI, world: World) -> Iterator[Counter]:
    engine = app.state.runtime.get().engine
    counter = Counter()
    listeners = [
        ("before_cursor_execute", counter.cursor),
        ("begin", counter.boundary("BEGIN")),
        ("commit", counter.boundary("COMMIT")),
        ("rollback", counter.boundary("ROLLBACK")),
    ]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    async_db = app.state.runtime.get().async_db  # the request path's own async driver (app/core/adb.py)
    async_db.listeners.append(counter.sql)
    yield counter
    async_db.listeners.remove(counter.sql)
    for name, fn in listeners:
        event.remove(engine, name, fn)


def measure(counter: Counter, call: Any) -> tuple[Any, int]:
    counter.statements.clear()
    response = call()
    return response, len(counter)


def test_case_read_page_and_refusal_budgets(world: World, counted: Counter) -> None:
    case_id = push(world, report_payload()).json()["case"]["id"]
    for n in range(60):
        push(world, report_payload(f"P-{n}", content_url=f"https://x.com/p/status/{n}"))
    kasn = world.auth("KASN")
    world.client.get("/api/v1/me", headers=kasn)  # the token seen once

    response, read = measure(counted, lambda: world.client.get(f"/api/v1/cases/{case_id}", headers=kasn))
    assert response.status_code == 200
    print("case read", read, counted.statements)
    assert read <= 4, counted.statements
    response, page = measure(counted, lambda: world.client.get("/api/v1/cases?limit=50", headers=kasn))
    assert response.status_code == 200 and len(response.json()["items"]) == 50
    print("page", page)
    assert page <= 6, counted.statements
    response, refused = measure(
        counted, lambda: world.client.get("/api/v1/cases", headers={"Authorization": "Bearer not.a.token"})
    )
    assert response.status_code == 401
    print("refused", refused)
    assert refused <= 2, counted.statements


def test_push_and_transition_budgets(world: World, counted: Counter) -> None:
    push(world, report_payload("WARM"))  # the token seen once
    aptika = {**world.auth("APTIKA"), "Idempotency-Key": "budget-1"}
    payload = report_payload("B-1", content_url="https://x.com/b/status/1")
    response, pushed = measure(counted, lambda: world.client.post("/api/v1/reports", json=payload, headers=aptika))
    assert response.status_code == 201
    print("push", pushed, counted.statements)
    assert pushed <= 10, counted.statements  # the budget
    assert pushed == 7, counted.statements  # what the deferred writes' merge achieves (README)

    case_id = response.json()["case"]["id"]
    kasn = {**world.auth("KASN"), "If-Match": f'"{case_id}.1"'}
    world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)  # the case authority's token seen once
    body = {"to": "screening", "reason": "budget"}
    moved, sent = measure(
        counted, lambda: world.client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=kasn)
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "screening" and moved.headers["ETag"] == f'"{case_id}.2"'
    print("transition", sent, counted.statements)
    assert sent <= 10, counted.statements  # a write, held to the push's budget
    assert sent == 7, counted.statements


def test_an_idle_process_sends_at_most_one_statement_a_second(app: FastAPI, world: World, counted: Counter) -> None:
    """The served app with its background work (the audit sealer and checkpoints), left alone."""
    import time

    from tests.live_server import reserve_port, serve

    world.client.get("/api/v1/me", headers=world.auth("KASN"))  # a row for the sealer to start with
    with serve(app, reserve_port(), lifespan=True):
        time.sleep(1.5)  # the first turns seal what waits and share the client counts
        world.clock.advance(seconds=world.settings.rate_window_seconds)  # the rate window ends: nothing to share
        counted.statements.clear()
        time.sleep(4)
        idle = len(counted)
    print("idle statements in 4 s", idle, counted.statements)
    assert idle <= 4, counted.statements


def test_the_request_paths_statements_are_planned_once(world: World) -> None:
    """The database's own cost of a request: each statement the request path sends on the async driver runs on
    a plan made once, not planned afresh per execution. Left to choose, PostgreSQL re-planned the case read's
    statement on every execution (``id = ANY(:ids)``), which cost it more than running it (bench/README.md,
    tenth pass). What the database reports for the statements the read's connection has prepared."""
    case_id = push(world, report_payload()).json()["case"]["id"]
    kasn = world.auth("KASN")
    for _ in range(12):  # psycopg prepares a statement on its fifth execution
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=kasn).status_code == 200
    async_db = world.client.app.state.runtime.get().async_db  # type: ignore[attr-defined]
    plans = text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    # on the request path's loop, so on the connection the reads used (its last idle one)
    rows = world.client.portal.call(async_db.fetch, plans)  # type: ignore[union-attr]
    case_read = [row for row in rows if "FROM case_file c WHERE c.id = ANY" in row["statement"]]
    assert case_read, [row["statement"][:80] for row in rows]
    assert all(row["custom_plans"] == 0 and row["generic_plans"] >= 5 for row in case_read), case_read
    assert all(row["custom_plans"] == 0 for row in rows), rows
