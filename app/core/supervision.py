"""What a process ``netral serve`` started does differently from an app in a test: its workers die with
their parent, and the heap its startup built is frozen.

``netral serve --workers N`` runs a uvicorn supervisor and N workers. If the supervisor is killed outright
(kill -9, the OOM killer), Linux would leave the workers serving, holding the port, so the restart fails with
"address already in use". Each worker asks the kernel (prctl PR_SET_PDEATHSIG) for SIGTERM when its parent
dies, then checks the parent is still the supervisor (it may have died before the request took effect).
"""

import ctypes
import gc
import os
import signal
import sys

SUPERVISOR_ENV = "NETRAL_SUPERVISOR_PID"
SERVED_ENV = "NETRAL_SERVED"  # set by ``netral serve`` for itself and its workers
PR_SET_PDEATHSIG = 1


def is_worker() -> bool:
    supervisor = os.environ.get(SUPERVISOR_ENV)
    return bool(supervisor) and os.getpid() != int(supervisor or 0)


def die_with_supervisor() -> None:
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor or not sys.platform.startswith("linux") or os.getpid() == int(supervisor):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(supervisor):  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def freeze_startup_heap() -> None:
    """In a served process, once started: the objects startup made (modules, routes, schemas, the runtime)
    are moved out of the cyclic collector's reach (``gc.freeze``), so a full collection walks only what
    requests made. Under load one came about once a minute and stalled every request in flight for about
    100 ms, walking some 165,000 startup objects (bench/README.md, eighth pass). Not in tests' in-process
    apps: each would pin its own startup for the rest of the run."""
    if os.environ.get(SERVED_ENV):
        gc.collect()
        gc.freeze()
