"""Everything a running service holds: settings, engine, clock, signer. Built once per app; tests build
their own with an injected clock and database."""

from dataclasses import dataclass
from threading import Lock

from sqlalchemy import Engine

from app.auth.keys import Signer
from app.core.clock import Clock
from app.core.config import Settings, get_settings
from app.core.db import make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    signer: Signer

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        return cls(
            settings=settings,
            engine=make_engine(settings.database_url),
            clock=clock or Clock(),
            signer=Signer(settings),
        )


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
