"""Concurrency over a real server with real threads: idempotency, optimistic locking, the change feed.

Runs on both backends; on PostgreSQL the transactions really overlap."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from app.cases.models import CaseFile
from app.events.models import FeedEvent
from app.reports.models import Report
from tests.builders import World, report_payload
from tests.live_server import live_push, reserve_port, serve


@pytest.fixture
def live_url(app: FastAPI, world: World) -> Iterator[str]:
    with serve(app, reserve_port()) as url:
        yield url


def test_50_concurrent_pushes_with_one_key_create_one_report(world: World, live_url: str) -> None:
    headers = world.auth("APTIKA")
    payload = report_payload("CONC-1")

    def push(_: int) -> httpx.Response:
        return live_push(live_url, headers, payload, "one-key-for-all")

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(push, range(50)))
    assert {r.status_code for r in responses} == {201}, {r.status_code: r.text for r in responses}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    world.db.rollback()
    assert world.db.exec(select(func.count()).select_from(Report)).one() == 1


def test_concurrent_reports_on_same_content_share_one_case(world: World, live_url: str) -> None:
    headers = world.auth("APTIKA")

    def push(n: int) -> httpx.Response:
        return live_push(live_url, headers, report_payload(f"SAME-{n}"), f"same-{n}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(push, range(10)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["case"]["id"] for r in responses}) == 1
    world.db.rollback()
    assert world.db.exec(select(func.count()).select_from(CaseFile)).one() == 1


def test_two_transitions_with_one_etag(world: World, live_url: str) -> None:
    case_id = live_push(live_url, world.auth("APTIKA"), report_payload("ETAG-1"), "etag-1").json()["case"]["id"]
    headers = world.auth("KASN")
    tag = httpx.get(f"{live_url}/api/v1/cases/{case_id}", headers=headers).headers["etag"]
    barrier = threading.Barrier(2)

    def move(reason: str) -> int:
        barrier.wait()
        return httpx.post(
            f"{live_url}/api/v1/cases/{case_id}/transitions",
            json={"to": "screening", "reason": reason},
            headers={**headers, "If-Match": tag},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = sorted(pool.map(move, ["a", "b"]))
    assert codes == [200, 412]


def test_feed_delivers_every_event_exactly_once_under_concurrent_writers(world: World, live_url: str) -> None:
    writer_headers = world.auth("APTIKA")
    reader_headers = world.auth("KASN")
    writers_done = threading.Event()
    delivered: list[dict[str, Any]] = []
    gaps: list[tuple[int, int]] = []

    def poll_once(cursor: str | None) -> tuple[list[dict[str, Any]], str]:
        params = {"limit": 50, **({"after": cursor} if cursor else {})}
        page = httpx.get(f"{live_url}/api/v1/events", params=params, headers=reader_headers, timeout=60).json()
        return page["items"], page["next_cursor"]

    def poller() -> None:
        cursor, last = None, 0
        while True:
            done = writers_done.is_set()
            items, cursor = poll_once(cursor)
            for item in items:
                if item["position"] != last + 1:
                    gaps.append((last, item["position"]))
                last = item["position"]
            delivered.extend(items)
            if done and not items:
                return

    def write(n: int) -> int:
        payload = report_payload(f"FEED-{n}", content_url=f"https://x.com/u/status/{n % 7}")
        return live_push(live_url, writer_headers, payload, f"feed-{n}").status_code

    reader = threading.Thread(target=poller)
    reader.start()
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(write, range(60)))
    writers_done.set()
    reader.join(timeout=120)
    assert set(statuses) == {201}
    world.db.rollback()
    stored = [e.position for e in world.db.exec(select(FeedEvent).order_by(FeedEvent.position))]
    positions = [e["position"] for e in delivered]
    assert gaps == []
    assert positions == stored == list(range(1, len(stored) + 1))
    assert (
        len(stored) >= 60 + 53
    )  # each report: received (+ linked when it joined one of the 7 cases) + new cases' status


@pytest.mark.postgresql_only
def test_batch_racing_single_reports_on_the_same_content_loses_no_event(world: World, live_url: str) -> None:
    """A batch opens cases while single reports on the same NIP and URL race it: every committed report has
    its ``report.received`` event, every new case its ``case.status_changed``, positions have no gaps, and no
    request answers 500 (the dedupe savepoint once took the batch's pending events down with it)."""
    headers = world.auth("APTIKA")
    statuses: list[int] = []

    def post(path: str, body: Any, key: str) -> None:
        response = httpx.post(
            f"{live_url}/api/v1/{path}", json=body, headers={**headers, "Idempotency-Key": key}, timeout=60
        )
        statuses.append(response.status_code)

    for rnd in range(12):
        urls = [f"https://x.com/race/status/{rnd}-{i}" for i in range(3)]
        batch = {"items": [report_payload(f"B{rnd}-{i}", content_url=url) for i, url in enumerate(urls)]}
        singles = [("reports", report_payload(f"S{rnd}-{i}", content_url=urls[i % 3]), f"s{rnd}-{i}") for i in range(6)]
        barrier = threading.Barrier(7)

        def go(job: tuple[str, Any, str], barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            post(*job)

        with ThreadPoolExecutor(max_workers=7) as pool:
            list(pool.map(go, [("reports:batch", batch, f"batch-{rnd}"), *singles]))
    assert 500 not in statuses, statuses
    assert set(statuses) <= {201}, statuses
    world.db.rollback()
    events = list(world.db.exec(select(FeedEvent).order_by(FeedEvent.position)))
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    received = {e.report_id for e in events if e.kind == "report.received"}
    reports = list(world.db.exec(select(Report)))
    assert len(reports) == 12 * 9
    assert {r.id for r in reports} == received
    opened = {e.case_id for e in events if e.kind == "case.status_changed" and e.data.get("to_status") == "submitted"}
    assert opened == set(world.db.exec(select(CaseFile.id)))
