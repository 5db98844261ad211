"""Several server processes on one database: every request's row is sealed into one chain, in an order all
processes agree on; each write's receipt names its own row; the reads' rows are sealed by the servers
themselves (their writes' seals and their sweeps); and the interval checkpoints of every process sign a
prefix of that chain."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select

from app.audit import checkpoints, receipts, service
from app.audit.models import AuditCheckpoint, AuditEvent, RateWindow
from app.audit.verify import verify
from tests.builders import World
from tests.conftest import TEST_AUDIT_SIGNING_KEY, TEST_SECRET_KEY
from tests.live_server import reserve_port

PROCESSES = 2
REQUESTS = 240


@pytest.fixture
def servers(world: World, database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "NETRAL_DATABASE_URL": database_url,
        "NETRAL_SECRET_KEY": TEST_SECRET_KEY,
        "NETRAL_AUDIT_SIGNING_KEY": TEST_AUDIT_SIGNING_KEY,
        "NETRAL_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "1",
        "NETRAL_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "NETRAL_LOG_LEVEL": "WARNING",
        "NETRAL_REFUSALS_PER_SOURCE": "100000",  # this test counts refusals, it does not limit them
        "NETRAL_RATE_WINDOW_SECONDS": "1",  # the servers close their flood windows within the test
    }
    urls, procs = [], []
    for _ in range(PROCESSES):
        sock = reserve_port()
        port = sock.getsockname()[1]
        sock.close()
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
        log = (tmp_path / f"server-{port}.log").open("wb")
        procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))  # noqa: S603
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    for url in urls:
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server processes did not start"
            time.sleep(0.1)
    try:
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def test_one_chain_from_several_processes(world: World, servers: list[str]) -> None:
    kasn = world.clients["KASN"]

    def call(n: int) -> httpx.Response:
        url = servers[n % len(servers)]
        if n % 3 == 0:  # a refusal: audited in its own transaction
            return httpx.get(f"{url}/api/v1/me", timeout=60)
        if n % 3 == 1:  # a write (RFC 7009: revoking an unknown token succeeds): it waits for its receipt
            return httpx.post(
                f"{url}/oauth/revoke", data={"token": f"t{n}"}, auth=(kasn.client_id, kasn.secret or ""), timeout=60
            )
        return httpx.get(f"{url}/.well-known/jwks.json", timeout=60)

    with ThreadPoolExecutor(max_workers=24) as pool:
        responses = list(pool.map(call, range(REQUESTS)))
    assert sorted({r.status_code for r in responses}) == [200, 401]
    writes = [r for n, r in enumerate(responses) if n % 3 == 1]
    assert {r.status_code for r in writes} == {200}, [r.text for r in writes]
    promises = [r.headers["audit-receipt"] for r in writes]
    assert len(set(promises)) == len(promises) == REQUESTS // 3  # no two responses name the same row
    assert all("audit-receipt" not in r.headers for n, r in enumerate(responses) if n % 3 != 1)

    deadline = time.monotonic() + 10  # every row: summarised and sealed by the servers, not by this test
    while True:
        world.db.rollback()
        # Windows first: a window's closing deletes it and writes its summary row in one transaction, so once no
        # window is seen every summary row exists, and the second query (a later snapshot) sees whether it is
        # sealed. The other order could see "all sealed" just before a closing committed new rows.
        open_windows = world.db.exec(select(func.count()).where(col(RateWindow.scope).startswith("refused:"))).one()
        unsealed = world.db.exec(select(func.count()).where(col(AuditEvent.seq).is_(None))).one()
        if unsealed == 0 and open_windows == 0:
            break
        assert time.monotonic() < deadline, "the servers left rows unsealed"
        time.sleep(0.1)
    rows = [service.as_export(e) for e in service.iter_events(world.db)]
    summarised = sum(int(r["object_ids"]["count"]) for r in rows if r["action"] == "refused:unauthenticated")
    assert summarised == REQUESTS // 3  # every anonymous refusal counted, in summary rows
    assert len(rows) - len([r for r in rows if r["action"] == "refused:unauthenticated"]) == REQUESTS - summarised
    public = checkpoints.private_key(world.settings).public_key()
    by_digest = {receipts.row_digest(r): r for r in rows}
    assert all(receipts.verify(p, by_digest[receipts.parse(p)["row"]], public) for p in promises)
    signed = [
        checkpoints.as_document(c) for c in world.db.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id)))
    ]
    assert signed, "the servers' interval sealers signed nothing"
    key = checkpoints.private_key(world.settings).public_key()
    report = verify(rows, signed, key)
    assert report.ok, report.summary()
