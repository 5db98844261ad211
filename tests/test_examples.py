"""examples/: each agency role's client, run as an integrator runs it (a subprocess, httpx, a token from the
token endpoint) against a real `netral serve` process; the private_key_jwt client with a key registered
through the CLI. Then the database shows what they did."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from app.cases.models import CaseFile, SanctionOutcome
from app.reports.models import Report
from tests.builders import World
from tests.conftest import TEST_AUDIT_SIGNING_KEY
from tests.live_server import active_agreement, free_port, netral_serve, start_netral

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(url: str, script: str, *args: str, cwd: Path, **credentials: str) -> str:
    env = {**os.environ, "NETRAL_URL": url, **credentials}
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(EXAMPLES / script), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def secret_of(world: World, agency: str) -> dict[str, str]:
    seeded = world.clients[agency]
    return {"NETRAL_CLIENT_ID": seeded.client_id, "NETRAL_CLIENT_SECRET": seeded.secret or ""}


def test_each_roles_example_against_a_live_server(world: World, run: Any, database_url: str, tmp_path: Path) -> None:
    active_agreement(run, "EXAMPLES", parties=("APTIKA", "KASN", "BAWASLU", "ITJEN"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"  # also the issuer: client assertions are addressed to it
    server = start_netral(database_url, port, NETRAL_AUDIT_SIGNING_KEY=TEST_AUDIT_SIGNING_KEY, NETRAL_ISSUER=url)
    try:
        pushed = example(url, "reporter_push.py", cwd=tmp_path, **secret_of(world, "APTIKA"))
        assert "retry replayed the first answer: no duplicate" in pushed
        world.db.rollback()
        reports = world.db.exec(select(Report)).all()
        assert len(reports) == 1 and len(reports[0].reference) > 4  # the retry stored nothing more

        decided = example(url, "case_authority.py", cwd=tmp_path, **secret_of(world, "KASN"))
        assert "1 new case(s) in the feed" in decided and "sanction oral_reprimand recorded" in decided
        world.db.rollback()
        case = world.db.exec(select(CaseFile).where(col(CaseFile.id) == reports[0].case_id)).one()
        assert case.status == "recommendation_issued"
        assert len(world.db.exec(select(SanctionOutcome)).all()) == 1
        again = example(url, "case_authority.py", cwd=tmp_path, **secret_of(world, "KASN"))
        assert "0 new case(s) in the feed" in again  # the cursor file kept its place

        observed = example(url, "observer_query.py", "--region", "32", cwd=tmp_path, **secret_of(world, "BAWASLU"))
        assert "recommendation_issued" in observed and "1 case(s) listed" in observed

        assert run("audit", "checkpoint")[0] == 0
        verified = example(
            url, "auditor_verify.py", "--out", str(tmp_path / "audit"), cwd=tmp_path, **secret_of(world, "ITJEN")
        )
        assert "verified:" in verified and "PROBLEM" not in verified
        assert (tmp_path / "audit" / "events.jsonl").stat().st_size > 0

        jwk = example(url, "private_key_jwt.py", "keygen", str(tmp_path / "client.pem"), cwd=tmp_path)
        (tmp_path / "client.jwk").write_text(jwk)
        code, output = run(
            "clients", "create", "--agency", "BAWASLU", "--name", "pkj", "--scope", "cases:read",
            "--jwk", str(tmp_path / "client.jwk"), "--json",
        )  # fmt: skip
        assert code == 0, output
        client_id = json.loads(output)["client_id"]
        keyed = example(
            url,
            "private_key_jwt.py",
            cwd=tmp_path,
            NETRAL_CLIENT_ID=client_id,
            NETRAL_PRIVATE_KEY=str(tmp_path / "client.pem"),
        )
        assert f"authenticated with private_key_jwt as {client_id} of BAWASLU" in keyed
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_example_stops_with_the_services_problem(world: World, database_url: str, tmp_path: Path) -> None:
    with netral_serve(database_url) as url:
        env = {
            **os.environ,
            "NETRAL_URL": url,
            "NETRAL_CLIENT_ID": world.clients["APTIKA"].client_id,
            "NETRAL_CLIENT_SECRET": "wrong",
        }
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(EXAMPLES / "reporter_push.py")],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0 and "token refused: 401" in result.stderr
