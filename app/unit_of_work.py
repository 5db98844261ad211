"""The unit of work of a request: one transaction, and what must commit with it.

Its last steps, in this order and visibly here rather than in Session listeners: the change-feed events the
work queued (``events.publish``: takes the feed position last, see app/events/service.py), then the request's
audit row, then the commit. After the commit, a write waits for its audit row's seal and answers with the
receipt. On any error everything is rolled back, queued events included; the error handlers audit the refusal
in a transaction of their own.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.audit.recorder import SAFE_METHODS, receipt, record_success
from app.core.db import autocommit
from app.core.deps import NowDep, RuntimeDep
from app.events import service as events


def get_session(request: Request, runtime: RuntimeDep, now: NowDep) -> Iterator[Session]:
    """Committed after the route returns and *before* the response is sent (scope="function"), so an
    acknowledged write is a committed write. A read on PostgreSQL runs without a transaction block: under
    READ COMMITTED each statement sees its own snapshot either way, its only write is its audit row, and it
    saves the BEGIN and COMMIT round trips."""
    bind = autocommit(runtime.engine) if request.method in SAFE_METHODS else runtime.engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            events.publish(session)
            record_success(session, request, now)
            session.commit()
        except BaseException:
            events.discard(session)
            session.rollback()
            raise
    receipt(request, runtime.settings)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
