"""The served app reads its settings from the environment, like everything else: a real `netral serve`
process with a non-default setting, observed from outside."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import TEST_SECRET_KEY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def netral_serve(database_url: str, **settings: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "NETRAL_DATABASE_URL": database_url,
        "NETRAL_SECRET_KEY": TEST_SECRET_KEY,
        "NETRAL_AUDIT_CHECKPOINT_INTERVAL_SECONDS": "0",
        **settings,
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("netral serve did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def answered_while_a_body_is_pending(url: str) -> bool:
    """Holds one request open mid-body (a JSON push whose body never finishes), then asks another question."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        time.sleep(0.3)
        try:
            return httpx.get(f"{url}/api/v1/me", timeout=1.5).status_code == 401
        except httpx.TimeoutException:
            return False


def test_max_concurrent_requests_is_read_from_the_environment(database_url: str) -> None:
    with netral_serve(database_url, NETRAL_MAX_CONCURRENT_REQUESTS="1") as url:
        assert not answered_while_a_body_is_pending(url)  # the one slot is taken
        assert httpx.get(f"{url}/api/v1/me", timeout=5).status_code == 401  # and freed again
    with netral_serve(database_url) as url:
        assert answered_while_a_body_is_pending(url)  # the default leaves room
