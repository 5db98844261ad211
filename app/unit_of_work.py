"""The unit of work of a request: one transaction, and what must commit with it.

Its last steps, in this order and visibly here rather than in Session listeners: the change-feed events the
work queued (``events.publish``: takes the feed position last, see app/events/service.py), then the request's
audit row, then the commit. After the commit, a write waits for its audit row's seal and answers with the
receipt. On any error everything is rolled back, queued events included; the error handlers audit the refusal
in a transaction of their own.
"""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit.recorder import SAFE_METHODS, receipt, record_read, record_success, record_success_program
from app.core import programs
from app.core.adb import Transaction
from app.core.db import autocommit
from app.core.deps import now_of, runtime_of
from app.core.programs import Program, T
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
    # A session that never began a transaction holds no connection and no object: it is dropped, not closed
    # (closing an empty session costs a read 1.5 % of its CPU, bench/README.md, eighth pass).
    if getattr(request.state, "ended_on_loop", False):  # ``get_work`` ended this request's unit of work
        if not _untouched(session):
            await run_in_threadpool(_abandon, session)
        return
    if read and runtime.async_db is not None and _untouched(session):
        # A read that sent nothing through the session (its statements went on the async driver): its audit
        # row goes that way too, and no thread is needed.
        await record_read(runtime.async_db, session, request, now)
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


class Work:
    """The unit of work of a route whose work is a program (app/core/programs.py): ``run`` it, then the
    dependency ends the unit as ``get_session`` does (feed events, audit row, commit, receipt).

    - PostgreSQL: one transaction block on the request path's async driver, from the event loop: no worker
      thread, no ORM (bench/README.md, sixth pass).
    - SQLite: the request's session, each ``run`` on a worker thread (``get_session`` ends it).
    """

    def __init__(self, dialect: str, info: dict[str, Any]) -> None:
        self.dialect, self.info = dialect, info

    async def run(self, program: Program[T]) -> T:
        raise NotImplementedError


class _OnSession(Work):
    def __init__(self, session: Session) -> None:
        super().__init__(session.get_bind().dialect.name, session.info)
        self.session = session

    async def run(self, program: Program[T]) -> T:
        return await run_in_threadpool(programs.run, self.session, program)


class _OnLoop(Work):
    def __init__(self, transaction: Transaction) -> None:
        super().__init__("postgresql", {})
        self.transaction = transaction

    async def run(self, program: Program[T]) -> T:
        return await self.transaction.run(program)


async def get_work(request: Request, session: SessionDep) -> AsyncIterator[Work]:
    """``session`` is the request's one session (the principal's dependency holds it too): on SQLite the work
    runs in it and ``get_session`` ends the unit; on PostgreSQL this ends it, and ``get_session`` only closes
    what the principal's resolution may have read."""
    runtime = runtime_of(request)
    if runtime.async_db is None:
        yield _OnSession(session)
        return
    now = now_of(request)
    async with runtime.async_db.transaction() as transaction:
        work = _OnLoop(transaction)
        yield work
        # As ``_finish``: the queued feed events (the feed position last), then the audit row, then COMMIT.
        await transaction.run(_ending(work, request, now))
    request.state.ended_on_loop = True
    receipt(request, runtime.settings)


def _ending(work: Work, request: Request, now: datetime) -> Program[None]:
    yield from events.publish_program(work.dialect, work.info)
    yield from record_success_program(work.dialect, work.info, request, now)


WorkDep = Annotated[Work, Depends(get_work, scope="function")]
