"""A flood cannot fill the audit log (issue #11): refusals before authentication and beyond a limit are
counted per (reason, source, window) and written as one summary row per window; past the per-source limit
the answer is 429 with Retry-After."""

from typing import Any

from sqlmodel import col, func, select

from app.audit.models import AuditEvent, RateWindow
from tests.builders import World


def rows(world: World) -> list[AuditEvent]:
    world.sealed()
    return list(world.db.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def summaries(world: World, action: str) -> list[AuditEvent]:
    return [r for r in rows(world) if r.action == action]


def test_300_bad_tokens_are_300_counts_in_one_row_not_300_rows(world: World) -> None:
    before = len(rows(world))
    answers = [world.client.get("/api/v1/cases", headers={"Authorization": "Bearer not.a.token"}) for _ in range(300)]
    limit = world.settings.refusals_per_source
    assert [a.status_code for a in answers] == [401] * limit + [429] * (300 - limit)
    limited = answers[-1]
    assert limited.json()["type"] == "/problems/rate-limited" and int(limited.headers["retry-after"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"
    after = rows(world)
    assert len(after) - before == 1  # one window, one reason, one source: one row
    summary = after[-1]
    assert (summary.action, summary.outcome, summary.status) == ("refused:unauthenticated", "refused", 401)
    assert summary.object_ids["count"] == "300" and summary.client_ip == "testclient"


def test_the_limit_resets_with_the_window(world: World) -> None:
    for _ in range(world.settings.refusals_per_source + 1):
        last = world.client.get("/api/v1/me")
    assert last.status_code == 429
    world.clock.advance(seconds=world.settings.rate_window_seconds)
    assert world.client.get("/api/v1/me").status_code == 401
    counted = sum(int(r.object_ids["count"]) for r in summaries(world, "refused:unauthenticated"))
    assert counted == world.settings.refusals_per_source + 2


def test_the_token_endpoint_has_a_stricter_limit(world: World) -> None:
    def guess() -> Any:
        return world.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("x", "wrong"))

    answers = [guess() for _ in range(world.settings.token_requests_per_source + 5)]
    assert [a.status_code for a in answers] == [401] * world.settings.token_requests_per_source + [429] * 5
    assert answers[0].json()["error"] == "invalid_client"  # RFC 6749 below the limit
    assert "retry-after" in answers[-1].headers
    seeded = world.clients["KASN"]  # a legitimate client from the same address waits for the window too
    blocked = world.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(seeded.client_id, seeded.secret or "")
    )
    assert blocked.status_code == 429
    assert sum(int(r.object_ids["count"]) for r in summaries(world, "refused:invalid-client")) == 20
    assert sum(int(r.object_ids["count"]) for r in summaries(world, "refused:token-rate-limited")) == 6


def test_counters_are_shared_state_in_the_database(world: World) -> None:
    world.client.get("/api/v1/me")
    world.db.rollback()
    windows = list(world.db.exec(select(RateWindow)))
    assert [(w.scope, w.key, w.count) for w in windows] == [("refused:unauthenticated", "testclient", 1)]
    world.sealed()
    assert world.db.exec(select(func.count()).select_from(RateWindow)).one() == 0  # closed into the chain


def test_a_client_past_its_limit_is_429_and_summarised(world: World) -> None:
    runtime = world.client.app.state.runtime.get()  # type: ignore[attr-defined]
    runtime.settings = runtime.settings.model_copy(update={"requests_per_client": 5})
    headers = world.auth("KASN")
    answers = [world.client.get("/api/v1/cases", headers=headers) for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    assert answers[-1].json()["type"] == "/problems/rate-limited" and answers[-1].headers["retry-after"]
    other = world.client.get("/api/v1/cases", headers=world.auth("BAWASLU"))
    assert other.status_code == 200  # the limit is the client's, not everyone's
    limited = summaries(world, "refused:client-rate-limited")
    assert [(r.client_ip, r.object_ids["count"], r.status) for r in limited] == [
        (world.clients["KASN"].client_id, "3", 429)
    ]


def test_the_client_limit_holds_across_processes(world: World, database_url: str) -> None:
    import time

    import httpx
    import sqlalchemy

    from tests.live_server import netral_serve

    window = 3600  # the longest allowed: the test must not straddle two windows (each starts from zero)
    left = window - int(time.time()) % window
    if left < 60:
        time.sleep(left + 1)
    limits = {"NETRAL_REQUESTS_PER_CLIENT": "5", "NETRAL_RATE_WINDOW_SECONDS": str(window)}
    engine = sqlalchemy.create_engine(database_url)

    def shared_count(at_least: int) -> None:
        """Wait until the processes' sweeps have added this many requests to the shared count."""
        deadline = time.monotonic() + 20
        query = sqlalchemy.text("SELECT coalesce(sum(count), 0) FROM rate_window WHERE scope = 'client'")
        while True:
            with engine.connect() as connection:
                if connection.execute(query).scalar_one() >= at_least:
                    return
            assert time.monotonic() < deadline, f"the shared count never reached {at_least}"
            time.sleep(0.1)

    with netral_serve(database_url, **limits) as first, netral_serve(database_url, **limits) as second:
        seeded = world.clients["KASN"]
        token = httpx.post(
            f"{first}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "cases:read"},
            auth=(seeded.client_id, seeded.secret or ""),
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}

        def get(url: str) -> int:
            return httpx.get(f"{url}/api/v1/cases", headers=bearer).status_code

        assert [get(first) for _ in range(3)] == [200] * 3
        shared_count(3)  # the first process's sweep shared its counts
        time.sleep(0.5)
        assert [get(second) for _ in range(2)] == [200] * 2
        shared_count(5)  # the second's sweep added its 2 and read back the total in the same transaction
        time.sleep(2.5)  # and the first's next sweep (once a second when idle) read it back too
        assert get(second) == 429  # 3 in the first process + 2 + this one in the second: past 5
        assert get(first) == 429
    engine.dispose()
