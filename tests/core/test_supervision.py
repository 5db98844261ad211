"""`netral serve --workers 2`: a kill -9 of the supervisor takes its workers down, and a restart binds."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.live_server import free_port, start_netral


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(p) for p in text}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_their_supervisor_and_the_port_frees(database_url: str) -> None:
    port = free_port()
    supervisor = start_netral(database_url, port, "--workers", "2")
    try:
        workers = {w for c in children(supervisor.pid) for w in ({c} | children(c))}
        assert workers, "no worker processes found"
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(alive(w) for w in workers):
            assert time.monotonic() < deadline, "workers outlived their supervisor"
            time.sleep(0.2)
        with socket.socket() as sock:  # the restart binds cleanly
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
