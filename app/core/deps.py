"""Named dependencies, so routes read as sentences: ``settings: SettingsDep``, ``now: NowDep``. The request's
session (``SessionDep``) is the unit of work, in ``app.unit_of_work``."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime.get()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_now(request: Request, runtime: RuntimeDep) -> datetime:
    """One instant per request: every rule in a request sees the same time."""
    if not hasattr(request.state, "now"):
        request.state.now = runtime.clock.now()
    return request.state.now


NowDep = Annotated[datetime, Depends(get_now)]
