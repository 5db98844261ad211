"""Each test gets its own database, cloned from one migrated template per run.

SQLite: the template file is copied. PostgreSQL: ``CREATE DATABASE … TEMPLATE``. The backend comes from
``NETRAL_TEST_BACKEND`` (sqlite | postgresql); the server from ``NETRAL_TEST_PG_URL``.
"""

import os
import queue
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from app.core import migrations

BACKEND = os.environ.get("NETRAL_TEST_BACKEND", "sqlite")
PG_SERVER = os.environ.get("NETRAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_SERVER.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True)


@dataclass
class Template:
    url: str
    name: str  # file path (sqlite) or database name (postgresql)
    seeded: list[Any] = field(default_factory=list)  # the demo clients seeded into a template, with secrets


def new_empty_database(tmp_dir: Path) -> Template:
    name = f"netral_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    if BACKEND == "sqlite":
        path = tmp_dir / f"{name}.db"
        return Template(url=f"sqlite:///{path}", name=str(path))
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return Template(url=f"{PG_SERVER}/{name}", name=name)


def create_template(tmp_dir: Path) -> Template:
    template = new_empty_database(tmp_dir)
    migrations.upgrade(template.url)
    return template


def clone(template: Template, tmp_dir: Path) -> Template:
    name = f"netral_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    if BACKEND == "sqlite":
        path = tmp_dir / f"{name}.db"
        shutil.copyfile(template.name, path)
        return Template(url=f"sqlite:///{path}", name=str(path))
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}" STRATEGY FILE_COPY')
        # A test database need not survive a power cut: commits return without waiting for the disk flush.
        # Correctness does not depend on it; bench/ measures with the server's real durability.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return Template(url=f"{PG_SERVER}/{name}", name=name)


def drop(database: Template) -> None:
    if BACKEND == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(database.name + suffix).unlink(missing_ok=True)
        return
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


class ClonePool:
    """PostgreSQL clones made ahead and dropped behind, on threads: ``CREATE DATABASE … TEMPLATE`` costs about
    half a second of the server's time and ``DROP DATABASE`` a few tenths, which then overlap other tests
    instead of adding to each. Each clone is still used by exactly one test."""

    def __init__(self, template: Template, tmp_dir: Path, ahead: int = 2) -> None:
        self._template, self._tmp_dir = template, tmp_dir
        self._ready: queue.Queue[Template | BaseException] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._used: queue.Queue[Template | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_used, daemon=True)
        if BACKEND == "postgresql":
            self._thread.start()
            self._dropper.start()

    def _drop_used(self) -> None:
        while (used := self._used.get()) is not None:
            drop(used)

    def release(self, used: Template) -> None:
        if BACKEND == "postgresql":
            self._used.put(used)
        else:
            drop(used)

    def _fill(self) -> None:
        while not self._stop.is_set():
            try:
                made: Template | BaseException = clone(self._template, self._tmp_dir)
            except BaseException as exc:  # handed to the test that asks next
                made = exc
            while not self._stop.is_set():
                try:
                    self._ready.put(made, timeout=0.2)
                    break
                except queue.Full:
                    continue
            else:
                if isinstance(made, Template):
                    drop(made)

    def take(self, tmp_dir: Path) -> Template:
        if BACKEND != "postgresql":
            return clone(self._template, tmp_dir)
        made = self._ready.get(timeout=60)
        if isinstance(made, BaseException):
            raise made
        return made

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self._dropper.is_alive():
            self._used.put(None)
            self._dropper.join(timeout=120)
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if isinstance(made, Template):
                drop(made)
