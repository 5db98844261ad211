"""The unit of work of a request: one transaction, and what must commit with it.

Its last steps, in this order and visibly here rather than in Session listeners: the change-feed events the
work queued (``events.publish``: takes the feed position last, see app/events/service.py), then the request's
audit row, then the commit. After the commit, a write waits for its audit row's seal and answers with the
receipt. On any error everything is rolled back, queued events included; the error handlers audit the refusal
in a transaction of their own.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit.recorder import SAFE_METHODS, receipt, record_read, record_success
from app.core.db import autocommit
from app.core.deps import now_of, runtime_of
from app.events import service as events


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Committed after the route returns and *before* the response is sent (scope="function"), so an
    acknowledged write is a committed write. A read on PostgreSQL runs without a transaction block: under
    READ COMMITTED each statement sees its own snapshot either way, its only write is its audit row, and it
    saves the BEGIN and COMMIT round trips.

    ``async``: opening a session touches no connection, so it runs on the event loop; only the end (the
    audit row, the commit, or the rollback) goes to a worker thread, one hop instead of two."""
    runtime, now = runtime_of(request), now_of(request)
    read = request.method in SAFE_METHODS
    bind = autocommit(runtime.engine) if read else runtime.engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_abandon, session)
        raise
    if read and runtime.async_db is not None and _untouched(session):
        # A read that sent nothing through the session (its statements went on the async driver): its audit
        # row goes that way too, and no thread is needed.
        try:
            await record_read(runtime.async_db, session, request, now)
        finally:
            session.close()
        return
    await run_in_threadpool(_finish, session, request, now)
    receipt(request, runtime.settings)


def _untouched(session: Session) -> bool:
    return session.get_transaction() is None and not events.queued(session)


def _finish(session: Session, request: Request, now: datetime) -> None:
    with session:
        try:
            events.publish(session)
            record_success(session, request, now)
            session.commit()
        except BaseException:
            events.discard(session)
            session.rollback()
            raise


def _abandon(session: Session) -> None:
    with session:
        events.discard(session)
        session.rollback()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
