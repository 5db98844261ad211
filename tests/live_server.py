"""Real servers for clients that speak real HTTP: the app in a thread (``serve``), or a real `netral serve`
process (``start_netral``, ``netral_serve``)."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


def reserve_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: FastAPI, sock: socket.socket, *, lifespan: bool = False) -> Iterator[str]:
    """``lifespan``: run the app's background work too (the audit sealer), as a served process does."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on" if lifespan else "off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_netral(
    database_url: str, port: int, *args: str, log: Path | None = None, **settings: str
) -> subprocess.Popen[bytes]:
    """A real `netral serve` process (test secret, no interval checkpoints, ``settings`` as NETRAL_* values),
    returned once it answers ``/healthz``; its output goes to ``log`` when given."""
    from tests.conftest import TEST_SECRET_KEY

    env = {
        **os.environ,
        "NETRAL_DATABASE_URL": database_url,
        "NETRAL_SECRET_KEY": TEST_SECRET_KEY,
        "NETRAL_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0",
        **settings,
    }
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=output,
        stderr=output,
    )
    if log:
        output.close()  # type: ignore[union-attr]  # the process holds its own copy
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("netral serve did not start")
        time.sleep(0.1)


@contextmanager
def netral_serve(database_url: str, **settings: str) -> Iterator[str]:
    """`start_netral` on a free port, for the length of a ``with``; yields its base URL."""
    port = free_port()
    process = start_netral(database_url, port, **settings)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def active_agreement(run: Any, code: str, parties: tuple[str, ...] = ("APTIKA", "KASN")) -> None:
    """The server processes run on the wall clock: an agreement in force today for ``parties``."""
    today = datetime.now(UTC).date()
    since, until = str(today - timedelta(days=1)), str(today + timedelta(days=30))
    args = ["--title", code, "--valid-from", since, "--valid-until", until]
    for party in parties:
        args += ["--party", party]
    assert run("agreements", "create", code, *args)[0] == 0


def live_token(url: str, client: Any, *scopes: str) -> str:
    """An access token from a live server's token endpoint, for a ``SeededClient`` with a secret (its
    client's scopes when ``scopes`` is empty)."""
    data = {"grant_type": "client_credentials", **({"scope": " ".join(scopes)} if scopes else {})}
    response = httpx.post(f"{url}/oauth/token", data=data, auth=(client.client_id, client.secret or ""))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def live_bearer(url: str, client: Any, *scopes: str) -> dict[str, str]:
    """``live_token`` as an Authorization header."""
    return {"Authorization": f"Bearer {live_token(url, client, *scopes)}"}


def live_push(url: str, headers: dict[str, str], payload: dict[str, Any], key: str) -> httpx.Response:
    """A report pushed to a live server with ``key`` as its Idempotency-Key (``builders.push``, over HTTP)."""
    return httpx.post(f"{url}/api/v1/reports", json=payload, headers={**headers, "Idempotency-Key": key}, timeout=60)
