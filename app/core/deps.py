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


async def get_settings_dep(request: Request) -> Settings:
    return runtime_of(request).settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def now_of(request: Request) -> datetime:
    """One instant per request: every rule in a request sees the same time."""
    if not hasattr(request.state, "now"):
        request.state.now = runtime_of(request).clock.now()
    now: datetime = request.state.now
    return now


async def get_now(request: Request) -> datetime:
    return now_of(request)


NowDep = Annotated[datetime, Depends(get_now)]
