"""Everything a running service holds: settings, engine, clock, and the process-wide components features
build once (the token signer's key cache, say: ``runtime.component(factory)``). Built once per app; tests
build their own with an injected clock and database."""

from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import Engine

from app.core.adb import AsyncPostgres
from app.core.clock import Clock
from app.core.config import Settings, get_settings
from app.core.db import Timeouts, make_engine

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    # PostgreSQL only: the request path's async connections for its hot statements (app/core/adb.py).
    async_db: AsyncPostgres | None = None
    _components: dict[Callable[..., Any], Any] = field(default_factory=dict)
    _components_lock: Lock = field(default_factory=Lock)

    def component(self, factory: "Callable[[Runtime], T]") -> T:
        """One ``factory(runtime)`` per runtime, built on first use."""
        with self._components_lock:
            if factory not in self._components:
                self._components[factory] = factory(self)
            return self._components[factory]

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        timeouts = Timeouts(
            connect_seconds=settings.db_timeout_seconds,
            statement_seconds=settings.db_timeout_seconds,
            pool_seconds=settings.db_timeout_seconds,
        )
        engine = make_engine(settings.database_url, timeouts=timeouts)
        async_db = AsyncPostgres(engine, timeouts) if engine.dialect.name == "postgresql" else None
        return cls(settings=settings, engine=engine, clock=clock or Clock(), async_db=async_db)

    def dispose(self) -> None:
        """Close every connection this runtime holds (at shutdown; tests, after each)."""
        if self.async_db is not None:
            self.async_db.close_now()
        self.engine.dispose()


class LazyRuntime:
    """Settings are read when the first request needs them, not at import: importing the app (to print its
    OpenAPI document, say) needs no secrets."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self._runtime = runtime
        self._lock = Lock()

    def get(self) -> Runtime:
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    self._runtime = Runtime.build(get_settings())
        return self._runtime

    def built(self) -> Runtime | None:
        """The runtime if one was built, without building it."""
        return self._runtime
