"""Named dependencies, so routes read as sentences: ``settings: SettingsDep``, ``now: NowDep``. The request's
session (``SessionDep``) is the unit of work, in ``app.unit_of_work``."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.core.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime.get()
    return runtime


# Trivial dependencies are ``async``: FastAPI runs a plain ``def`` dependency on a worker thread, a hop that
# costs more than the work (bench/request_cost.py).
async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_now(request: Request, runtime: RuntimeDep) -> datetime:
    """One instant per request: every rule in a request sees the same time."""
    if not hasattr(request.state, "now"):
        request.state.now = runtime.clock.now()
    return request.state.now


NowDep = Annotated[datetime, Depends(get_now)]
