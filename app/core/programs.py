"""Write paths written once, run on either driver (issue #10, ``bench/README.md``, sixth pass).

A *program* is a generator that yields the statements of a unit of work one at a time (``Step``: a
SQLAlchemy Core statement and its parameters) and is sent back each one's rows as plain dicts. It decides
what to send next from what came back, and returns its result; it never touches a connection itself. Two
drivers run it:

- ``run(session, program)``: on the SQLAlchemy session's connection, in its transaction (SQLite, and every
  caller that holds a session);
- ``AsyncPostgres.transaction().run(program)`` (app/core/adb.py): on psycopg's async driver, from the event
  loop, inside one BEGIN … COMMIT of its own (the hot write routes on PostgreSQL).

So the rules of a write (what is checked, in which order rows are locked, what is refused) live in one place,
and each backend's tests exercise the same code. Statements a program yields are compiled once per driver:
they name their parameters with explicit ``bindparam``s (no values left for SQLAlchemy to infer per call),
and a list of parameters is sent as one executemany (no rows come back).
"""

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import Session

T = TypeVar("T")
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Step:
    statement: Any  # a SQLAlchemy Core statement (an insert, a select, a text clause)
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] = field(default_factory=dict)
    # False for a write whose rows the program does not read: on the async driver it may be sent as part of
    # the next statement (app/core/adb.py, ``merge``), which therefore must not read what it writes.
    returns: bool = True


Program = Generator[Step, Rows, T]


def run(session: Session, program: Program[T]) -> T:
    """Run a program on the session's connection, in its transaction (begun if need be)."""
    connection = session.connection()
    rows: Rows | None = None
    while True:
        try:
            step = program.send(rows)  # type: ignore[arg-type]  # None starts the generator
        except StopIteration as done:
            return done.value
        result = connection.execute(step.statement, step.params)
        rows = [dict(row) for row in result.mappings()] if result.returns_rows else []


def call(produce: Callable[[], T]) -> Program[T]:
    """A plain callable as a program that sends nothing itself (it works through a session of its own
    reach): lets a session-bound caller share a program that takes another program as its body."""
    return produce()
    yield  # pragma: no cover  # the yield makes this a generator
