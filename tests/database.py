"""Each test gets its own database, cloned from one migrated template per run.

SQLite: the template file is copied. PostgreSQL: ``CREATE DATABASE … TEMPLATE``. The backend comes from
``NETRAL_TEST_BACKEND`` (sqlite | postgresql); the server from ``NETRAL_TEST_PG_URL``.
"""

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

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
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.name}"')
    return Template(url=f"{PG_SERVER}/{name}", name=name)


def drop(database: Template) -> None:
    if BACKEND == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(database.name + suffix).unlink(missing_ok=True)
        return
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
