"""Consistency across server processes (issue #10): two real `netral serve` processes on one database, each
request sent to one or the other. A retried push's idempotency, the change feed's exactly-once order and the
client-assertion replay guard hold across them, since all three live in the database, not in a process."""

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlmodel import func, select

from app.events.models import FeedEvent
from app.reports.models import Report
from tests.builders import World, cli_client, report_payload
from tests.live_server import active_agreement, live_bearer, live_push, netral_serve

ISSUER = "https://netral.test"  # both processes are one service: one issuer, whichever port answers
SETTINGS = {"NETRAL_ISSUER": ISSUER, "NETRAL_REQUESTS_PER_CLIENT": "100000"}


@pytest.fixture
def servers(world: World, run: Any, database_url: str) -> Iterator[list[str]]:
    active_agreement(run, "LIVE-PROCESSES")  # the servers run on the wall clock
    with ExitStack() as stack:
        yield [stack.enter_context(netral_serve(database_url, **SETTINGS)) for _ in range(2)]


def test_one_idempotency_key_pushed_to_both_processes_at_once_makes_one_report(
    world: World, servers: list[str]
) -> None:
    headers = live_bearer(servers[0], world.clients["APTIKA"], "reports:write")
    payload = report_payload("PROC-1")

    def push(n: int) -> httpx.Response:
        return live_push(servers[n % 2], headers, payload, "one-key-two-processes")

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(push, range(20)))
    assert {r.status_code for r in responses} == {201}, {r.status_code: r.text[:200] for r in responses}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    world.db.rollback()
    assert world.db.exec(select(func.count()).select_from(Report)).one() == 1


def test_the_feed_read_from_either_process_has_every_event_once_in_order(world: World, servers: list[str]) -> None:
    """Writers on both processes; the reader takes each page from the other process than the last."""
    writer = live_bearer(servers[0], world.clients["APTIKA"], "reports:write")
    reader = live_bearer(servers[1], world.clients["KASN"], "cases:read")

    def write(n: int) -> int:
        payload = report_payload(f"PFEED-{n}", content_url=f"https://x.com/p/status/{n % 5}")
        return live_push(servers[n % 2], writer, payload, f"pfeed-{n}").status_code

    delivered: list[int] = []
    cursor: str | None = None
    with ThreadPoolExecutor(max_workers=8) as pool:
        writes = [pool.submit(write, n) for n in range(40)]
        for turn in range(1000):  # read while the writers write
            params: dict[str, Any] = {"limit": 7, **({"after": cursor} if cursor else {})}
            page = httpx.get(f"{servers[turn % 2]}/api/v1/events", params=params, headers=reader, timeout=60)
            assert page.status_code == 200, page.text
            delivered += [item["position"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"] or cursor
            if all(w.done() for w in writes):
                break
        statuses = [w.result() for w in writes]
    for turn in range(100):  # then what the last writes committed after the reader's last page
        page = httpx.get(f"{servers[turn % 2]}/api/v1/events", params={"after": cursor, "limit": 50}, headers=reader)
        if not page.json()["items"]:
            break
        delivered += [item["position"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"] or cursor
    assert set(statuses) == {201}
    world.db.rollback()
    stored = [e.position for e in world.db.exec(select(FeedEvent).order_by(FeedEvent.position))]
    assert delivered == stored == list(range(1, len(stored) + 1))
    assert len(stored) >= 40 + 5  # every report received, every new case's first status


def test_a_client_assertion_used_at_one_process_is_refused_at_the_other(
    world: World, run: Any, servers: list[str], tmp_path: Path
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = tmp_path / "client.jwk"
    jwk.write_text(json.dumps(ECAlgorithm.to_jwk(private.public_key(), as_dict=True)))
    client_id = world.clients[cli_client(world, run, "APTIKA", "reports:read", jwk=jwk)].client_id
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assertion = private_key_jwt_sign(pem, client_id, ISSUER, alg="ES256", claims={"exp": int(time.time()) + 60})
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    assert httpx.post(f"{servers[0]}/oauth/token", data=form).status_code == 200
    replay = httpx.post(f"{servers[1]}/oauth/token", data=form)
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"] == "invalid_client" and "replay" in replay.json()["error_description"]
