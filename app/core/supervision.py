"""Worker processes die with their parent.

``netral serve --workers N`` runs a uvicorn supervisor and N workers. If the supervisor is killed outright
(kill -9, the OOM killer), Linux would leave the workers serving, holding the port, so the restart fails with
"address already in use". Each worker asks the kernel (prctl PR_SET_PDEATHSIG) for SIGTERM when its parent
dies, then checks the parent is still the supervisor (it may have died before the request took effect).
"""

import ctypes
import os
import signal
import sys

SUPERVISOR_ENV = "NETRAL_SUPERVISOR_PID"
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
