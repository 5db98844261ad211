"""The edge, on a real `netral serve` process (issue #11): bodies limited and read before a worker slot is
taken, anonymous callers refused unread, slow clients unable to starve anyone."""

import socket
import time

import httpx

from tests.live_server import netral_serve

TOKEN_SHAPED = "Bearer a.b.c"


def raw(url: str, request: bytes, *, wait: float = 3.0) -> bytes:
    """Sends ``request`` as is on its own connection and returns what came back within ``wait`` seconds."""
    port = int(url.rsplit(":", 1)[1])
    received = b""
    deadline = time.monotonic() + wait
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(request)
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())) if received else wait)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if received:
                    break
                continue
            if not chunk:
                break
            received += chunk
    return received


def post_headers(length: int | str, *, token: str | None = None, chunked: bool = False) -> bytes:
    lines = [b"POST /api/v1/reports HTTP/1.1", b"Host: x", b"Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: {token}".encode())
    lines.append(b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_anonymous_and_oversized_bodies_are_refused_unread(database_url: str) -> None:
    with netral_serve(database_url, NETRAL_BODY_READ_TIMEOUT_SECONDS="30") as url:
        started = time.monotonic()
        anonymous = raw(url, post_headers(50 * 1024 * 1024) + b"{")  # 50 MB announced, one byte sent
        assert anonymous.startswith(b"HTTP/1.1 401") and b"application/problem+json" in anonymous
        declared = raw(url, post_headers(50 * 1024 * 1024, token=TOKEN_SHAPED) + b"{")
        assert declared.startswith(b"HTTP/1.1 413") and b"/problems/payload-too-large" in declared
        assert time.monotonic() - started < 5  # neither waited for a body

        chunk = b"x" * 65536
        chunked = httpx.post(
            f"{url}/api/v1/reports",
            content=iter([chunk] * 20),  # 1.25 MiB, chunked: counted as it arrives
            headers={"Authorization": TOKEN_SHAPED, "Content-Type": "application/json"},
        )
        assert chunked.status_code == 413

        malformed = httpx.post(
            f"{url}/api/v1/reports", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 401  # not a 422 that lists the fields


def test_a_body_that_stops_arriving_times_out(database_url: str) -> None:
    with netral_serve(database_url, NETRAL_BODY_READ_TIMEOUT_SECONDS="1") as url:
        answer = raw(url, post_headers(100, token=TOKEN_SHAPED) + b'{"a":', wait=5)
        assert answer.startswith(b"HTTP/1.1 408") and b"/problems/request-timeout" in answer


def test_slow_clients_starve_nobody(database_url: str) -> None:
    """More slow-body connections than the process has slots: the probes and other callers are answered."""
    with netral_serve(database_url, NETRAL_BODY_READ_TIMEOUT_SECONDS="30") as url:
        port = int(url.rsplit(":", 1)[1])
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
        try:
            for sock in slow:
                sock.sendall(post_headers(1000, token=TOKEN_SHAPED) + b"{")
            time.sleep(0.5)
            started = time.monotonic()
            assert httpx.get(f"{url}/healthz", timeout=3).status_code == 200
            assert httpx.get(f"{url}/readyz", timeout=3).status_code in (200, 503)
            assert httpx.get(f"{url}/api/v1/me", headers={"Authorization": TOKEN_SHAPED}, timeout=3).status_code == 401
            assert time.monotonic() - started < 3
        finally:
            for sock in slow:
                sock.close()
