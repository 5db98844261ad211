"""The request path's own way to PostgreSQL: a few hot statements sent with psycopg's async driver straight
from the event loop, with no worker thread and no ORM execution path (issue #10, ``bench/README.md``).

What goes this way: the authorisation version every request reads, the case read's one statement, a read's
audit row. Each is a SQLAlchemy Core statement that the sync path uses too, compiled once by the engine's own
dialect (``Prebuilt``): the same SQL text, the same bind casts, and the column types' own bind and result
processing, so a row read here is the row the ORM would have read. Everything else, and everything on SQLite,
stays on the SQLAlchemy session and its worker thread.

Connections are opened on demand in the running event loop and kept (up to ``max_idle`` per loop: a server
has one, tests run several) for the next request; they run in autocommit with the engine's session options
(UTC, statement timeout, keepalives). A failure to reach or hear from the database is raised as SQLAlchemy's
``OperationalError``, which the error handlers answer with 503, and it drops every idle connection (after a
restart they are all dead), as the engine's pool does.
"""

import asyncio
import contextlib
import functools
import re
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.core.db import Timeouts, pg_connect_args
from app.core.programs import Program, Rows, T

Processor = Callable[[Any], Any]


class Connection(psycopg.AsyncConnection[tuple[Any, ...]]):
    """A connection that keeps one cursor for its statements (rows as tuples): a cursor made per statement,
    and rows made as dicts by the driver, cost about a third of a short statement's CPU (bench/README.md,
    seventh pass)."""

    _statements: psycopg.AsyncCursor[tuple[Any, ...]] | None = None

    def statements(self) -> psycopg.AsyncCursor[tuple[Any, ...]]:
        if self._statements is None:
            self._statements = self.cursor()
        return self._statements


@dataclass(frozen=True)
class Prebuilt:
    """A statement compiled once: its SQL, and the bind and result processors of its parameters' and
    columns' types (None where the driver's value is already the Python one)."""

    sql: str
    binds: Mapping[str, Processor | None]
    defaults: Mapping[str, Any]
    results: Mapping[str, Processor]

    @classmethod
    def of(cls, statement: ClauseElement, engine: Engine) -> "Prebuilt":
        dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        binds = {name: bind.type._cached_bind_processor(dialect) for name, bind in compiled.binds.items()}
        defaults = {  # the values bound in the statement itself (``id == 1``)
            name: value for name, value in compiled.construct_params(_check=False).items() if value is not None
        }
        results: dict[str, Processor] = {}
        for column in getattr(statement, "exported_columns", ()):  # a select's columns, or RETURNING's
            processor = column.type._cached_result_processor(dialect, None)
            if processor is not None:
                results[column.key] = processor
        return cls(sql=str(compiled), binds=binds, defaults=defaults, results=results)

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in {**self.defaults, **values}.items():
            processor = self.binds.get(name)
            out[name] = processor(value) if processor is not None else value
        return out

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        for name, processor in self.results.items():
            if name in row:
                row[name] = processor(row[name])
        return row


class AsyncPostgres:
    def __init__(self, engine: Engine, timeouts: Timeouts, max_idle: int = 10) -> None:
        self.engine = engine
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connect_args = pg_connect_args(timeouts)
        # Every statement sent this way is prebuilt and parameterised, and none has a plan that depends on its
        # values (key lookups, inserts, the case with its children by id). Left to choose, PostgreSQL planned
        # the case statement afresh on every execution (its generic plan's estimate for ``id = ANY(:ids)``
        # is above a custom plan's): 0.4 ms of the database's CPU per read, more than the statement's own
        # execution, on the cores the server shares (bench/README.md, tenth pass).
        self.connect_args["options"] += " -c plan_cache_mode=force_generic_plan"
        self.max_idle = max_idle
        self.listeners: list[Callable[[str], None]] = []  # told each statement's SQL (tests count them)
        self._built: dict[int, tuple[ClauseElement, Prebuilt]] = {}
        # Idle connections by the event loop that opened them: a server has one loop; tests run several.
        self._idle: dict[asyncio.AbstractEventLoop, list[Connection]] = {}
        self._lock = threading.Lock()
        self.column_names: dict[str, tuple[str, ...]] = {}  # each statement's column names, by its SQL

    def prebuilt(self, statement: ClauseElement) -> Prebuilt:
        key = id(statement)
        if key not in self._built:  # the statement is kept with it, so its id cannot be reused
            self._built[key] = (statement, Prebuilt.of(statement, self.engine))
        return self._built[key][1]

    async def fetch(self, statement: ClauseElement, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One statement in autocommit."""
        connection = await self._acquire()
        try:
            rows = await Transaction(self, connection).execute(statement, values or {})
        except sa_exc.DBAPIError as exc:
            self._after_error(connection, exc)
            raise
        except BaseException:  # cancelled, or a bug: the connection's state is unknown, it is not reused
            connection.pgconn.finish()
            raise
        self._release(connection)
        return rows

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator["Transaction"]:
        """One transaction block on a connection of its own: COMMIT when the body ends, ROLLBACK when it
        raises. A connection whose state is unknown afterwards (lost, cancelled mid-statement) is not reused."""
        connection = await self._acquire()
        transaction = Transaction(self, connection, merging=True)
        try:
            await transaction.command("BEGIN")
            yield transaction
            await transaction.flush()
            await transaction.command("COMMIT")
        except sa_exc.DBAPIError as exc:
            self._after_error(connection, exc, in_block=True)
            raise
        except Exception:  # the work refused (a problem, a bug): its statements are undone, the connection kept
            await self._roll_back(transaction)
            raise
        except BaseException:
            connection.pgconn.finish()
            raise
        self._release(connection)

    async def _roll_back(self, transaction: "Transaction") -> None:
        try:
            await transaction.command("ROLLBACK")
        except BaseException:
            transaction.connection.pgconn.finish()
            raise
        self._release(transaction.connection)

    def _after_error(self, connection: Connection, exc: sa_exc.DBAPIError, *, in_block: bool = False) -> None:
        """A lost database drops every idle connection (after a restart they are all dead), as the engine's
        pool does. Any other error leaves an autocommit connection usable; a failed block's connection is
        dropped rather than rolled back on the loop's time."""
        lost = isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
        if lost:
            self.close_now()
        if lost or in_block:
            connection.pgconn.finish()
            return
        self._release(connection)

    async def _acquire(self) -> Connection:
        loop = asyncio.get_running_loop()
        with self._lock:
            idle = self._idle.get(loop)
            if idle:
                return idle.pop()
        try:
            return await Connection.connect(self.conninfo, autocommit=True, **self.connect_args)
        except psycopg.Error as exc:
            self.close_now()
            raise wrap("connect", {}, exc) from exc

    async def scalar(self, statement: ClauseElement, values: Mapping[str, Any] | None = None) -> Any:
        rows = await self.fetch(statement, values)
        return next(iter(rows[0].values()))

    def _release(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            for closed in [other for other in self._idle if other.is_closed()]:
                _finish(self._idle.pop(closed))
            idle = self._idle.setdefault(loop, [])
            if len(idle) < self.max_idle:
                idle.append(connection)
                return
        connection.pgconn.finish()

    def close_now(self) -> None:
        """Close the idle connections (synchronously: from any thread, with or without their loop)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            _finish(connections)


class Transaction:
    """Statements on one connection: in autocommit (``AsyncPostgres.fetch``) or inside a block
    (``AsyncPostgres.transaction``). Runs programs (app/core/programs.py)."""

    def __init__(self, database: AsyncPostgres, connection: Connection, *, merging: bool = False) -> None:
        self.database, self.connection, self.merging = database, connection, merging
        self.deferred: list[tuple[str, dict[str, Any]]] = []  # (SQL, parameters) not sent yet

    async def execute(
        self,
        statement: ClauseElement,
        values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        returns: bool = True,
    ) -> list[dict[str, Any]]:
        """One statement. In a merging block, one whose rows nobody reads (``returns`` false) is deferred and
        sent as a data-modifying CTE of the next statement sent (``merge``): one round trip fewer."""
        built = self.database.prebuilt(statement)
        if isinstance(values, Sequence):  # executemany: no rows come back
            await self.flush()
            return await self._send(built.sql, [built.params(v) for v in values], many=True)
        params = built.params(values)
        if self.merging and not returns and split_with(built.sql) is not None:
            self.deferred.append((built.sql, params))
            return []
        sql = built.sql
        if self.deferred:
            text_ = merge(tuple(d[0] for d in self.deferred), sql)
            if text_ is None:
                await self.flush()
            else:
                params = {**_renamed(self.deferred), **params}
                sql, self.deferred = text_, []
        return [built.row(row) for row in await self._send(sql, params)]

    async def flush(self) -> None:
        """Send what was deferred (before COMMIT, or before a statement it cannot merge with)."""
        if not self.deferred:
            return
        deferred, self.deferred = self.deferred, []
        text_ = merge(tuple(d[0] for d in deferred), "SELECT 1")
        if text_ is None:
            for sql, params in deferred:
                await self._send(sql, params)
            return
        await self._send(text_, _renamed(deferred))

    async def _send(self, sql: str, params: Any, *, many: bool = False) -> list[dict[str, Any]]:
        for listener in self.database.listeners:
            listener(sql)
        cursor = self.connection.statements()
        try:
            if many:
                await cursor.executemany(sql, params)
                return []
            await cursor.execute(sql, params)
            if cursor.pgresult is None or not cursor.pgresult.nfields:
                return []
            rows = await cursor.fetchall()
        except psycopg.Error as exc:
            raise wrap(sql, params, exc) from exc
        names = self.database.column_names.get(sql)
        if names is None:  # the same text has the same columns: read them once
            names = self.database.column_names[sql] = tuple(column.name for column in cursor.description or ())
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def command(self, sql: str) -> None:
        for listener in self.database.listeners:
            listener(sql)
        try:
            await self.connection.statements().execute(sql)
        except psycopg.Error as exc:
            raise wrap(sql, {}, exc) from exc

    async def run(self, program: Program[T]) -> T:
        rows: Rows | None = None
        while True:
            try:
                step = program.send(rows)  # type: ignore[arg-type]  # None starts the generator
            except StopIteration as done:
                return done.value
            rows = await self.execute(step.statement, step.params, returns=step.returns)


def _renamed(deferred: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The deferred statements' parameters under the names ``merge`` gives them."""
    return {f"deferred_{n}_{name}": value for n, (_, params) in enumerate(deferred) for name, value in params.items()}


_PARAM = re.compile(r"(?<!%)%\((\w+)\)s")
_MAIN = ("SELECT", "INSERT", "UPDATE", "DELETE")
_AS = re.compile(r"\s+AS\s*\(")


@functools.lru_cache(maxsize=256)
def split_with(sql: str) -> tuple[tuple[tuple[str, str], ...], str] | None:
    """``WITH a AS (...), b AS (...) MAIN`` as (((a, "a AS (...)"), ...), MAIN); ``None`` when the text is not
    in that simple shape (column lists, ``RECURSIVE``), which is then never merged."""
    sql = sql.strip()
    if not sql.startswith("WITH "):
        return (), sql
    ctes: list[tuple[str, str]] = []
    start, depth, i, quoted = 5, 0, 5, False
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                cte = sql[start : i + 1].strip()
                name = cte.split(" ", 1)[0]
                if not _AS.match(cte, len(name)):
                    return None
                ctes.append((name, cte))
                rest = sql[i + 1 :].lstrip()
                if rest.startswith(","):
                    start = len(sql) - len(rest) + 1
                    i = start
                    continue
                return (tuple(ctes), rest) if rest.split(" ", 1)[0].upper() in _MAIN else None
        i += 1
    return None


@functools.lru_cache(maxsize=256)
def merge(deferred: tuple[str, ...], sql: str) -> str | None:
    """Statements whose rows nobody reads, as data-modifying CTEs of the next statement: PostgreSQL runs each
    to completion whether or not it is read, and none sees another's changes, so the statement they join
    must not read what they write. Their own CTEs are lifted to the top (PostgreSQL allows data-modifying
    CTEs only there) and their parameters renamed ``deferred_<n>_<name>``. ``None`` when a text is not in the
    simple shape this reads, or names would clash: the caller then sends them one by one."""
    target = split_with(sql)
    if target is None:
        return None
    ctes: list[tuple[str, str]] = []
    for n, text_ in enumerate(deferred):
        prefix = f"deferred_{n}_"
        parts = split_with(_PARAM.sub(lambda m, prefix=prefix: f"%({prefix}{m[1]})s", text_))  # type: ignore[misc]
        if parts is None:
            return None
        hoisted, main = parts
        ctes += [*hoisted, (f"deferred_{n}", f"deferred_{n} AS ({main})")]
    ctes += target[0]
    if len({name for name, _ in ctes}) != len(ctes):
        return None
    return "WITH " + ", ".join(cte for _, cte in ctes) + " " + target[1]


def wrap(sql: str, params: Any, exc: psycopg.Error) -> sa_exc.DBAPIError:
    """psycopg's error as SQLAlchemy raises it for the same failure on the sync path (OperationalError,
    IntegrityError, DataError, ...), so the same handlers answer it."""
    wrapped = sa_exc.DBAPIError.instance(sql, params, exc, psycopg.Error)
    assert isinstance(wrapped, sa_exc.DBAPIError)  # a DBAPI error is always wrapped as one
    return wrapped


def _finish(connections: list[Connection]) -> None:
    for connection in connections:
        connection.pgconn.finish()
