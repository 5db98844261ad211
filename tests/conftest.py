import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio.from_thread
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session
from typer.testing import CliRunner

from app import demo
from app.cli import cli
from app.core.clock import FrozenClock
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.main import create_app
from tests import database
from tests.builders import World

# TEST FIXTURE ONLY — never a real secret.
TEST_SECRET_KEY = "test-fixture-only-secret-key-not-for-production-0000"
# TEST FIXTURE ONLY — the audit checkpoint key (base64 of a 32-byte Ed25519 seed), never a real one.
TEST_AUDIT_SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()
TEST_ISSUER = "http://testserver"
# Inside the real 2024 PKS window (2023-10-26 → 2025-02-20 WIB).
TEST_NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


# The demo seed goes into the template once per run (signing-key generation and four clients cost more than
# cloning): agencies, roles, the 2024 PKS, a key and one client per agency, dated before every test's clock.
SEED_TIME = datetime(2023, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def bare_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[database.Template]:
    """Migrated, nothing seeded: for tests marked ``bare_database``."""
    template = database.create_template(tmp_path_factory.mktemp("templates"))
    yield template
    database.drop(template)


@pytest.fixture(scope="session")
def template_db(
    bare_template: database.Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[database.Template]:
    template = database.clone(bare_template, tmp_path_factory.mktemp("templates"))
    engine = make_engine(template.url)
    with Session(engine, expire_on_commit=False) as session:
        seed_settings = Settings(
            _env_file=None,
            database_url=template.url,
            secret_key=SecretStr(TEST_SECRET_KEY),  # type: ignore[call-arg]
        )
        template.seeded = demo.seed(session, settings=seed_settings, now=SEED_TIME, with_demo_agreement=False)
        session.commit()
    engine.dispose()
    yield template
    database.drop(template)


@pytest.fixture(scope="session")
def clone_pool(
    template_db: database.Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[database.ClonePool]:
    pool = database.ClonePool(template_db, tmp_path_factory.mktemp("clones"))
    yield pool
    pool.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, clone_pool: database.ClonePool, tmp_path: Path) -> Iterator[str]:
    if request.node.get_closest_marker("bare_database"):
        bare = database.clone(request.getfixturevalue("bare_template"), tmp_path)
        yield bare.url
        database.drop(bare)
        return
    db = clone_pool.take(tmp_path)
    yield db.url
    clone_pool.release(db)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(TEST_NOW)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SecretStr(TEST_SECRET_KEY),  # type: ignore[call-arg]
        issuer=TEST_ISSUER,
        evidence_dir=str(tmp_path / "evidence"),
        evidence_max_bytes=64 * 1024,
        audit_signing_key=SecretStr(TEST_AUDIT_SIGNING_KEY),
        audit_checkpoint_interval_seconds=0,  # tests sign checkpoints when they mean to
    )


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[FastAPI]:
    application = create_app(settings, clock)
    yield application
    application.state.runtime.get().dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """One event loop for the test's requests, as a server has (the lifespan's background work is left out:
    tests seal and sweep when they mean to). The async driver's connections live in that loop."""
    with anyio.from_thread.start_blocking_portal() as portal:
        test_client = TestClient(app, raise_server_exceptions=False)
        test_client.portal = portal
        yield test_client
        test_client.portal = None


@pytest.fixture
def db(app: FastAPI, settings: Settings) -> Iterator[Session]:
    """A session on the test's database, for arranging data and asserting database state. On SQLite it
    begins deferred transactions, so an open read never holds the write lock the app needs."""
    engine = make_engine(settings.database_url, sqlite_immediate=False)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def world(
    app: FastAPI,
    db: Session,
    settings: Settings,
    clock: FrozenClock,
    client: TestClient,
    template_db: database.Template,
) -> World:
    """The demo seed (in every test database, from the template): APTIKA (reporter), KASN (case authority),
    BAWASLU (observer), ITJEN (auditor), the 2024 PKS, a signing key and one client per agency."""
    seeded = {c.agency_code: c for c in template_db.seeded}
    return World(client=client, db=db, settings=settings, clock=clock, clients=seeded)


@pytest.fixture
def run(database_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """The operator CLI (`netral …`) on the test's own database and the test's clock:
    ``run("audit", "verify") -> (code, output)``."""
    for module in ("app.operator", "app.cli", "app.audit.cli"):
        monkeypatch.setattr(f"{module}.clock", clock)
    monkeypatch.setenv("NETRAL_DATABASE_URL", database_url)
    monkeypatch.setenv("NETRAL_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("NETRAL_AUDIT_SIGNING_KEY", TEST_AUDIT_SIGNING_KEY)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args))
        return result.exit_code, result.output

    yield invoke
    get_settings.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if database.BACKEND == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs the real PostgreSQL server (NETRAL_TEST_BACKEND=postgresql)")
    for item in items:
        if "postgresql_only" in item.keywords:
            item.add_marker(skip)
