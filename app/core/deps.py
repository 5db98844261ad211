"""Named dependencies, so routes read as sentences: ``session: SessionDep``, ``now: NowDep``."""

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.core.config import Settings
from app.core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime.get()  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_now(request: Request, runtime: RuntimeDep) -> datetime:
    """One instant per request: every rule in a request sees the same time."""
    if not hasattr(request.state, "now"):
        request.state.now = runtime.clock.now()
    return request.state.now  # type: ignore[no-any-return]


NowDep = Annotated[datetime, Depends(get_now)]


def get_session(request: Request, runtime: RuntimeDep, now: NowDep) -> Iterator[Session]:
    """The request's one transaction: committed after the route returns and *before* the response is sent
    (scope="function"), so an acknowledged write is a committed write; rolled back on any error. Its audit
    row is appended in the same transaction, last, and sealed into the chain right after the commit."""
    from app.audit.recorder import receipt, record_success

    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            yield session
            record_success(session, request, now)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    receipt(request, runtime.engine)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
