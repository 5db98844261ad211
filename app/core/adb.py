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
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.core.db import Timeouts, pg_connect_args

Processor = Callable[[Any], Any]
Connection = psycopg.AsyncConnection[dict[str, Any]]


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
        for column in getattr(statement, "selected_columns", ()):
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
        self.max_idle = max_idle
        self.listeners: list[Callable[[str], None]] = []  # told each statement's SQL (tests count them)
        self._built: dict[int, tuple[ClauseElement, Prebuilt]] = {}
        # Idle connections by the event loop that opened them: a server has one loop; tests run several.
        self._idle: dict[asyncio.AbstractEventLoop, list[Connection]] = {}
        self._lock = threading.Lock()

    def prebuilt(self, statement: ClauseElement) -> Prebuilt:
        key = id(statement)
        if key not in self._built:  # the statement is kept with it, so its id cannot be reused
            self._built[key] = (statement, Prebuilt.of(statement, self.engine))
        return self._built[key][1]

    async def fetch(self, statement: ClauseElement, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        built = self.prebuilt(statement)
        params = built.params(values or {})
        for listener in self.listeners:
            listener(built.sql)
        connection = None
        try:
            connection = await self._acquire()
            cursor = await connection.execute(built.sql, params)
            rows = await cursor.fetchall() if cursor.description is not None else []
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self.close_now()
            if connection is not None:
                connection.pgconn.finish()
            wrapper = sa_exc.InterfaceError if isinstance(exc, psycopg.InterfaceError) else sa_exc.OperationalError
            raise wrapper(built.sql, params, exc) from exc
        except BaseException:  # cancelled, or a bug: the connection's state is unknown, it is not reused
            if connection is not None:
                connection.pgconn.finish()
            raise
        self._release(connection)
        return [built.row(row) for row in rows]

    async def scalar(self, statement: ClauseElement, values: Mapping[str, Any] | None = None) -> Any:
        rows = await self.fetch(statement, values)
        return next(iter(rows[0].values()))

    async def _acquire(self) -> Connection:
        loop = asyncio.get_running_loop()
        with self._lock:
            idle = self._idle.get(loop)
            if idle:
                return idle.pop()
        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, row_factory=dict_row, **self.connect_args
        )

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


def _finish(connections: list[Connection]) -> None:
    for connection in connections:
        connection.pgconn.finish()
