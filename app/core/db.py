"""Engine, schema conventions and the one-transaction-per-request session."""

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on the way in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Timeouts:
    """How long the service waits for the database before it answers 503: to connect, for a statement (server
    side: lock waits and slow queries), for a pooled connection."""

    connect_seconds: int = 5
    statement_seconds: int = 0  # 0: none (operator commands, which may run long)
    pool_seconds: int = 30


def make_engine(url: str, *, sqlite_immediate: bool = True, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN IMMEDIATE: concurrent SQLite transactions queue on the busy timeout instead of failing with
        # "database is locked" when a reader turns writer. (Tests' read-only inspection engines opt out.)
        begin = "BEGIN IMMEDIATE" if sqlite_immediate else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    timeouts = timeouts or Timeouts()
    if "poolclass" not in kwargs:
        kwargs.update(pool_size=10, max_overflow=20, pool_timeout=timeouts.pool_seconds)
    # No pre-ping: it would cost every request a round trip; a connection found dead is invalidated with the
    # whole pool by SQLAlchemy, and the next checkout reconnects.
    connect_args = pg_connect_args(timeouts)
    return create_engine(url, connect_args=connect_args, pool_recycle=1800, **kwargs)


def pg_connect_args(timeouts: Timeouts) -> dict[str, Any]:
    """psycopg's connection options: the engine's, and the request path's async connections' (app/core/adb.py)."""
    # Sessions in UTC: timestamps aggregated to JSON in SQL (app/cases/loading.py) come out as the ORM's do.
    options = "-c timezone=UTC"
    if timeouts.statement_seconds:
        options += f" -c statement_timeout={timeouts.statement_seconds * 1000}"
    connect_args: dict[str, Any] = {"options": options, "connect_timeout": timeouts.connect_seconds}
    if timeouts.statement_seconds:
        # A host that stops answering (a partition, a frozen machine) never sends the statement timeout's
        # error: the kernel gives up on unacknowledged data after this long, and keepalives probe idle
        # connections, so the wait is bounded on the client side too.
        connect_args |= {
            "tcp_user_timeout": (timeouts.statement_seconds + 1) * 1000,
            "keepalives": 1,
            "keepalives_idle": max(1, timeouts.statement_seconds),
            "keepalives_interval": 1,
            "keepalives_count": 3,
        }
    return connect_args


M = TypeVar("M", bound=SQLModel)


def detached(model: type[M], values: Mapping[str, Any]) -> M:
    """A table model's instance as a plain value: its fields (defaults filled in), without validation or the
    ORM's instrumentation, for what a program (app/core/programs.py) writes with Core statements or reads
    back from them. No session holds it, and it cannot be changed: build it whole. An instrumented instance
    costs four to five times as much to build (bench/README.md, seventh pass). The values must already be
    the fields' types: parsed by a schema, or read by the column's own type."""
    instance: M = model.model_construct(**values)  # type: ignore[assignment]  # SQLModel types it as itself
    return instance


def insert_for(dialect: str) -> Any:
    """The ``insert`` construct of the dialect, the one that knows ``ON CONFLICT``."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def in_list(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN`` the list bound as ``name``, in a statement that compiles once (app/core/programs.py): on
    PostgreSQL ``= ANY(array)``, one parameter whatever the list's length; elsewhere an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def upsert(table: Table, dialect: str) -> PgInsert | SqliteInsert:
    """``INSERT`` of every column from bind parameters of the same names (``insert_for`` the dialect).
    Callers build their statement from it once per dialect (``functools.cache``) and pass the values at
    execution: a statement built per call costs more Python than the database spends on it."""
    return insert_for(dialect)(table).values(binds(table))


def binds(table: Table) -> dict[str, BindParameter[Any]]:
    return {column.name: bindparam(column.name) for column in table.c}


_AUTOCOMMIT: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()


def autocommit(engine: Engine) -> Engine:
    """The engine for single statements that need no transaction block (reads, audit rows of refusals,
    counters): on PostgreSQL the same pool in autocommit, saving BEGIN and COMMIT; elsewhere the engine itself.
    One per engine, made once."""
    if engine.dialect.name != "postgresql":
        return engine
    if engine not in _AUTOCOMMIT:
        _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return _AUTOCOMMIT[engine]


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transaction boundaries (see the "begin" listener).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
