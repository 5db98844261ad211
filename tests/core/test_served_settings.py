"""The served app reads its settings from the environment, like everything else: a real `netral serve`
process with a non-default setting, observed from outside."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.db import make_engine
from tests.builders import World, report_payload
from tests.live_server import active_agreement, live_bearer, netral_serve


def test_the_body_limit_is_read_from_the_environment(database_url: str) -> None:
    body = b'{"reference": "' + b"x" * 4000 + b'"}'
    headers = {"Authorization": "Bearer a.b.c", "Content-Type": "application/json"}
    with netral_serve(database_url, NETRAL_MAX_BODY_BYTES="2048") as url:
        refused = httpx.post(f"{url}/api/v1/reports", content=body, headers=headers)
        assert refused.status_code == 413 and refused.json()["type"] == "/problems/payload-too-large"
    with netral_serve(database_url) as url:
        assert httpx.post(f"{url}/api/v1/reports", content=body, headers=headers).status_code == 401


def test_the_batch_limit_is_read_from_the_environment_and_stated_in_the_served_contract(
    database_url: str, world: World, run: Any
) -> None:
    """A deployment's NETRAL_BATCH_MAX_ITEMS is what its own /openapi.json states and what it enforces; the
    committed contract states the default."""

    def batch_limits(document: dict) -> set[int]:
        schemas = document["components"]["schemas"]
        return {schemas[name]["properties"]["items"]["maxItems"] for name in ("ReportBatchIn", "ReportBatchOut")}

    seeded = world.clients["APTIKA"]
    active_agreement(run, "PKS-BATCH")  # the server runs on the wall clock: pushes need an agreement today
    with netral_serve(database_url, NETRAL_BATCH_MAX_ITEMS="3") as url:
        assert batch_limits(httpx.get(f"{url}/openapi.json").json()) == {3}
        items = [report_payload(f"APT-B{n}", content_url=f"https://x.com/batch/status/{n}") for n in range(4)]
        refused = httpx.post(
            f"{url}/api/v1/reports:batch",
            json={"items": items},
            headers={**live_bearer(url, seeded), "Idempotency-Key": "batch-of-4"},
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/body/items"
    committed = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
    assert batch_limits(committed) == {100}


@pytest.mark.postgresql_only
def test_max_concurrent_requests_is_read_from_the_environment(database_url: str) -> None:
    """A request stuck on the database holds its slot (the test locks the table every authenticated request
    reads first); with one slot, nothing else is admitted meanwhile; with the default, others go on."""
    engine = make_engine(database_url)
    for limit, answered in (("1", False), ("8", True)):
        with netral_serve(database_url, NETRAL_MAX_CONCURRENT_REQUESTS=limit) as url, engine.connect() as lock:
            lock.execute(text("LOCK TABLE auth_version IN ACCESS EXCLUSIVE MODE"))
            with ThreadPoolExecutor(max_workers=1) as pool:
                stuck = pool.submit(httpx.get, f"{url}/api/v1/cases", headers={"Authorization": "Bearer a.b.c"})
                time.sleep(0.5)
                try:
                    other = httpx.get(f"{url}/api/v1/me", timeout=1.5).status_code == 401
                except httpx.TimeoutException:
                    other = False
                lock.rollback()
                assert stuck.result(timeout=10).status_code == 401
            assert other is answered, limit
    engine.dispose()


@pytest.mark.postgresql_only
def test_the_servers_connections_bound_a_silent_host_on_the_client_side(database_url: str) -> None:
    """A frozen or partitioned database host never sends the statement timeout's error; the server's own
    connections give up on unacknowledged data and probe idle ones (libpq TCP settings), from the same
    NETRAL_DB_TIMEOUT_SECONDS."""
    from app.core.config import Settings
    from app.core.runtime import Runtime
    from tests.conftest import TEST_SECRET_KEY

    settings = Settings(database_url=database_url, secret_key=TEST_SECRET_KEY, db_timeout_seconds=2)
    engine = Runtime.build(settings).engine
    with engine.connect() as connection:
        dsn = connection.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
    engine.dispose()
    assert "tcp_user_timeout=3000" in dsn and "keepalives=1" in dsn and "keepalives_idle=2" in dsn
