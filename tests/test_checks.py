"""`netral check` and what `netral serve` refuses or repairs at start-up (issue #12, start-up clarity)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.auth import keys
from app.core.db import make_engine
from tests import database
from tests.conftest import TEST_SECRET_KEY
from tests.live_server import free_port, netral_serve


def test_check_passes_on_a_ready_database(run: Any) -> None:
    code, out = run("check")
    assert code == 0, out
    assert "ok: settings, database, migrations, signing key, audit key and routing" in out


def test_check_lists_what_to_fix(run: Any) -> None:
    assert run("agencies", "create", "BKN", "--name", "BKN", "--role", "case_authority")[0] == 0
    assert run("agreements", "add-party", "PKS-2024-APTIKA-KASN", "--agency", "BKN")[0] == 0
    code, out = run("check")
    assert code == 1
    assert "problem: routing: agreement PKS-2024-APTIKA-KASN: several parties hold the case_authority role" in out


def test_a_missing_secret_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETRAL_")}
    env["NETRAL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app.cli", "check"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: configuration: NETRAL_SECRET_KEY: Field required"]
    assert "Traceback" not in result.stdout + result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    empty = database.new_empty_database(tmp_path)
    try:
        env = {**os.environ, "NETRAL_DATABASE_URL": empty.url, "NETRAL_SECRET_KEY": TEST_SECRET_KEY}
        port = str(free_port())
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "app.cli", "serve", "--port", port],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "error: cannot serve: database schema at None" in result.stderr
        assert "run `netral db upgrade`" in result.stderr and "Traceback" not in result.stderr
    finally:
        database.drop(empty)


@pytest.mark.bare_database
def test_serve_creates_a_missing_signing_key(database_url: str) -> None:
    with netral_serve(database_url) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert keys.active_key(session) is not None
    engine.dispose()
