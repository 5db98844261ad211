"""The operator CLI against the test's own database."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth.models import ApiClient
from app.core.db import make_engine


@pytest.mark.bare_database
def test_demo_seeds_and_second_run_keeps_secrets_hidden(run) -> None:  # type: ignore[no-untyped-def]
    code, first = run("demo")
    assert code == 0
    assert first.count("client_secret=") == 4 and "unchanged" not in first
    code, second = run("demo")
    assert code == 0 and second.count("unchanged") == 4
    code, listing = run("agencies", "list")
    assert "APTIKA" in listing and "case_authority" in listing


def test_clients_create_prints_secret_once_as_json(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    code, out = run(
        "clients", "create", "--agency", "APTIKA", "--name", "crawler", "--scope", "reports:write", "--json"
    )
    assert code == 0
    created = json.loads(out)
    assert len(created["client_secret"]) >= 43  # 32 random bytes, base64url
    engine = make_engine(database_url, sqlite_immediate=False)
    with Session(engine) as session:
        stored = session.exec(select(ApiClient).where(ApiClient.client_id == created["client_id"])).one()
        assert stored.secret_hash and created["client_secret"] not in stored.secret_hash
    engine.dispose()
    code, listing = run("clients", "list")
    assert created["client_id"] in listing and created["client_secret"] not in listing


def test_clients_create_with_jwk_has_no_secret(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    jwk_file = tmp_path / "key.json"
    jwk_file.write_text(
        json.dumps(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True))
    )
    code, out = run(
        "clients",
        "create",
        "--agency",
        "KASN",
        "--name",
        "kasn-sys",
        "--scope",
        "cases:read",
        "--jwk",
        str(jwk_file),
        "--json",
    )
    assert code == 0 and json.loads(out)["client_secret"] is None


def test_refusals(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    assert run("clients", "create", "--agency", "NOPE", "--name", "x", "--scope", "cases:read")[0] == 1
    assert run("clients", "create", "--agency", "KASN", "--name", "x", "--scope", "everything")[0] == 1
    private_jwk = tmp_path / "private.json"
    private_jwk.write_text(json.dumps(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)))
    assert (
        run("clients", "create", "--agency", "KASN", "--name", "x", "--scope", "cases:read", "--jwk", str(private_jwk))[
            0
        ]
        == 1
    )
    assert run("agencies", "transfer-role", "--role", "case_authority", "--from", "BAWASLU", "--to", "KASN")[0] == 1
    assert run("clients", "disable", "no-such-client")[0] == 1


def test_transfer_role_disable_and_rotate(run) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    assert run("agencies", "create", "BKN", "--name", "Badan Kepegawaian Negara", "--role", "reporter")[0] == 0
    code, out = run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "BKN")
    assert code == 0
    listing = run("agencies", "list")[1]
    bkn_line = next(line for line in listing.splitlines() if line.startswith("BKN"))
    kasn_line = next(line for line in listing.splitlines() if line.startswith("KASN"))
    assert "case_authority" in bkn_line and "case_authority" not in kasn_line
    client_id = run("clients", "list")[1].split()[0]
    assert run("clients", "disable", client_id)[0] == 0
    assert "disabled" in next(line for line in run("clients", "list")[1].splitlines() if line.startswith(client_id))
    code, out = run("keys", "rotate")
    assert code == 0
    assert len(run("keys", "list")[1].strip().splitlines()) == 2
    assert "PKS-2024" in run("agreements", "show")[1]


def test_agreements_create_and_extend(run) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    code, out = run(
        "agreements",
        "create",
        "PKS-2025",
        "--title",
        "Lanjutan",
        "--valid-from",
        "2025-03-01",
        "--valid-until",
        "2025-09-01",
        "--party",
        "APTIKA",
        "--party",
        "KASN",
        "--wind-down-days",
        "14",
    )
    assert code == 0, out
    assert (
        run("agreements", "extend", "PKS-2025", "--region", "32.73", "--until", "2025-10-01", "--reason", "PSU")[0] == 0
    )
    assert run("agreements", "extend", "PKS-2025", "--region", "99", "--until", "2025-10-01", "--reason", "x")[0] == 1
    assert run("agreements", "extend", "NOPE", "--region", "32", "--until", "2025-10-01", "--reason", "x")[0] == 1
    assert "PKS-2025" in run("agreements", "show")[1]


def test_retention_purge_and_subject_export_commands(run) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    code, out = run("retention", "purge", "--dry-run")
    assert code == 0 and "would purge: 0 case(s)" in out
    code, out = run("subject", "export", "--nip", "198503152010011001")
    assert code == 0 and json.loads(out)["reports"] == []


def test_operator_actions_are_audited(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    from app.audit import service as audit
    from app.audit.models import AuditEvent
    from app.audit.verify import verify

    run("demo")
    run("clients", "create", "--agency", "APTIKA", "--name", "x", "--scope", "reports:read", "--json")
    assert run("clients", "disable", "no-such-client")[0] == 1
    run("retention", "purge")
    engine = make_engine(database_url, sqlite_immediate=False)
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [(e.action, e.outcome) for e in events] == [
            ("cli:demo", "allowed"),
            ("cli:clients.create", "allowed"),
            ("cli:clients.disable", "refused"),
            ("cli:retention.purge", "allowed"),
        ]
        assert events[1].object_ids["client_id"].startswith("aptika-")
        assert verify(audit.as_export(e) for e in audit.iter_events(session)).ok
    engine.dispose()


def test_audit_verify_after_a_purge(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from tests.database import BACKEND

    run("demo")
    run("retention", "purge")
    code, out = run("audit", "verify")
    assert code == 0 and "audit log OK: 2 rows" in out
    if BACKEND == "postgresql":  # a superuser bypassing the trigger is caught and located
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text("UPDATE audit_event SET action = 'cli:forged' WHERE seq = 1"))
        engine.dispose()
        code, out = run("audit", "verify")
        assert code == 1 and "row 1" in out


def test_audit_verify_names_committed_rows_that_were_not_chained(world, run) -> None:  # type: ignore[no-untyped-def]
    """As after a crash between a request's commit and the sweep: verify seals them and says so."""
    for _ in range(3):
        world.client.get("/api/v1/catalogues/violations", headers=world.auth("BAWASLU"))
    world.db.rollback()
    waiting = world.db.exec(select(AuditEvent).where(col(AuditEvent.seq).is_(None))).all()
    assert len(waiting) >= 3
    code, out = run("audit", "verify")
    assert code == 0, out
    assert f"{len(waiting)} committed row(s) were not yet chained; sealed them before verifying" in out
    code, out = run("audit", "verify")
    assert code == 0 and "not yet chained" not in out
