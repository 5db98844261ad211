"""Signed checkpoints and the verifier, online and offline: an auditor holding an export, the checkpoints
and the public key can tell an intact log from a tampered one and learn where it was tampered with."""

import base64
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlmodel import col, select

from app.audit import checkpoints, service
from app.audit.models import AuditCheckpoint, AuditEvent
from app.audit.sealer import checkpoint_if_due
from app.core.db import make_engine
from tests.builders import World, push, report_payload
from tests.database import BACKEND


def busy_log(world: World, run: Any, reports: int = 3) -> None:
    """Reads, writes and refusals from the API, and operator actions."""
    for n in range(reports):
        push(world, report_payload(f"C-{n}", content_url=f"https://x.com/c/{n}"))
    world.client.get("/api/v1/cases")  # refused: 401
    world.client.get("/api/v1/cases", headers=world.auth("BAWASLU"))


def export_files(run: Any, tmp_path: Path) -> tuple[Path, Path, Path]:
    rows, cps, pem = tmp_path / "audit.jsonl", tmp_path / "checkpoints.jsonl", tmp_path / "audit.pem"
    code, out = run("audit", "export", "--out", str(rows), "--checkpoints-out", str(cps))
    assert code == 0, out
    code, key = run("audit", "public-key")
    assert code == 0 and key.startswith("-----BEGIN PUBLIC KEY-----")
    pem.write_text(key)
    return rows, cps, pem


def offline(run: Any, rows: Path, cps: Path, pem: Path, *extra: str) -> tuple[int, str]:
    return run("audit", "verify", "--export", str(rows), "--checkpoints", str(cps), "--public-key", str(pem), *extra)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item, sort_keys=True) + "\n" for item in items))


@pytest.fixture
def signed(world: World, run: Any, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A busy log with two checkpoints and rows after the second one."""
    busy_log(world, run)
    assert run("audit", "checkpoint")[0] == 0
    busy_log(world, run, reports=1)
    code, out = run("audit", "checkpoint")
    assert code == 0 and json.loads(out)["id"] == 2
    world.client.get("/api/v1/me", headers=world.auth("KASN"))
    return export_files(run, tmp_path)


class TestCheckpoint:
    def test_signs_the_head_and_links_to_the_previous_one(self, world: World, run: Any) -> None:
        busy_log(world, run)
        code, out = run("audit", "checkpoint")
        first = json.loads(out)
        assert code == 0 and first["id"] == 1 and first["prev_checkpoint_hash"] == "0" * 64
        world.db.rollback()
        head = world.db.exec(text("SELECT seq FROM audit_head")).one()  # type: ignore[call-overload]
        assert head.seq == first["size"] + 1  # the command's own row follows what it signed
        signed_row = world.db.exec(select(AuditEvent).where(AuditEvent.seq == first["size"])).one()
        assert signed_row.hash == first["head_hash"]
        second = json.loads(run("audit", "checkpoint")[1])
        assert second["prev_checkpoint_hash"] == first["hash"]
        assert second["size"] == first["size"] + 1  # the first `audit checkpoint` action's own row
        key = checkpoints.private_key(world.settings).public_key()
        body = checkpoints.payload(second["size"], second["head_hash"], second["time"], second["prev_checkpoint_hash"])
        key.verify(base64.b64decode(second["signature"]), body)  # raises if it does not verify

    def test_without_a_key_the_command_refuses_and_is_audited(
        self, world: World, run: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from app.core.config import get_settings

        monkeypatch.delenv("NETRAL_AUDIT_SIGNING_KEY")
        get_settings.cache_clear()
        code, out = run("audit", "checkpoint")
        assert code == 1 and "NETRAL_AUDIT_SIGNING_KEY" in out
        world.db.rollback()
        last = world.db.exec(text("SELECT action, outcome FROM audit_event ORDER BY seq DESC")).first()  # type: ignore[call-overload]
        assert tuple(last) == ("cli:audit.checkpoint", "refused")
        assert world.db.exec(select(AuditCheckpoint)).first() is None

    def test_interval_checkpoints_include_idle_periods_and_sign_once(self, world: World) -> None:
        runtime = world.client.app.state.runtime.get()  # type: ignore[attr-defined]
        runtime.settings = runtime.settings.model_copy(update={"audit_checkpoint_interval_seconds": 60})
        first = checkpoint_if_due(runtime)
        assert first is not None and checkpoint_if_due(runtime) is None  # not due yet
        world.clock.advance(seconds=59)
        assert checkpoint_if_due(runtime) is None
        world.clock.advance(seconds=1)
        idle = checkpoint_if_due(runtime)  # nothing happened in between: still signed
        assert idle is not None and idle.size == first.size and idle.prev_checkpoint_hash == first.hash
        world.clock.advance(seconds=60)
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(checkpoint_if_due(runtime))) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len([r for r in results if r is not None]) == 1
        world.db.rollback()
        assert [c.id for c in world.db.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id)))] == [1, 2, 3]

    def test_the_server_signs_on_its_interval_without_being_asked(self, world: World) -> None:
        from fastapi.testclient import TestClient

        from app.main import create_app

        settings = world.settings.model_copy(update={"audit_checkpoint_interval_seconds": 60})
        app = create_app(settings, world.clock)
        with TestClient(app):  # runs the lifespan: the sealer's first wake-up finds no checkpoint yet
            for _ in range(100):
                world.db.rollback()
                if world.db.exec(select(AuditCheckpoint)).first() is not None:
                    break
                threading.Event().wait(0.05)
        app.state.runtime.get().dispose()
        world.db.rollback()
        assert world.db.exec(select(AuditCheckpoint)).first() is not None


class TestOfflineVerification:
    def test_intact_export_verifies(self, run: Any, signed: tuple[Path, Path, Path]) -> None:
        code, out = offline(run, *signed)
        assert code == 0, out
        size = lines(signed[1])[-1]["size"]
        assert size == len(lines(signed[0]))  # every export ends on a head signed at export time
        assert f"signed through row {size}" in out and "not yet under a checkpoint" not in out

    def test_http_export_and_checkpoints_verify_the_same(
        self, world: World, run: Any, signed: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        auditor = world.auth("ITJEN")
        rows = world.client.get("/api/v1/audit/events:export", headers=auditor)
        cps = world.client.get("/api/v1/audit/checkpoints:export", headers=auditor)
        key = world.client.get("/api/v1/audit/public-key", headers=auditor)
        assert rows.headers["content-type"].startswith("application/jsonl")
        (tmp_path / "h.jsonl").write_bytes(rows.content)
        (tmp_path / "h-cp.jsonl").write_bytes(cps.content)
        (tmp_path / "h-key.json").write_text(key.text)  # the JSON document works as the key file too
        code, out = offline(run, tmp_path / "h.jsonl", tmp_path / "h-cp.jsonl", tmp_path / "h-key.json")
        assert code == 0, out
        assert key.json()["public_key_pem"] == signed[2].read_text()

    @pytest.mark.parametrize("tamper", ["changed", "deleted", "swapped", "rehashed", "truncated"])
    def test_tampered_rows_are_located(self, run: Any, signed: tuple[Path, Path, Path], tamper: str) -> None:
        rows_path, cps_path, pem = signed
        rows, cps = lines(rows_path), lines(cps_path)
        k = 4  # 0-based: row 5
        if tamper == "changed":
            rows[k]["status"] = 200 if rows[k]["status"] != 200 else 204
            expected = "BROKEN at row 5: hash does not match"
        elif tamper == "deleted":
            del rows[k]
            expected = "BROKEN at row 5: expected row 5, found row 6"
        elif tamper == "swapped":
            rows[k], rows[k + 1] = rows[k + 1], rows[k]
            expected = "BROKEN at row 5: expected row 5, found row 6"
        elif tamper == "rehashed":  # someone re-computed every later hash: the signed head no longer matches
            rows[k]["agency"] = "KASN"
            for i in range(k, len(rows)):
                rows[i]["prev_hash"] = rows[i - 1]["hash"]
                rows[i]["hash"] = service.chain_hash(rows[i]["prev_hash"], rows[i])
            expected = f"BROKEN at row {cps[0]['size']}: hash differs from the head hash signed in checkpoint 1"
        else:  # everything after the first checkpoint cut off, second checkpoint kept
            rows = rows[: cps[0]["size"]]
            expected = f"rows {cps[0]['size'] + 1}..{cps[-1]['size']} are missing: checkpoint {len(cps)}"
        write(rows_path, rows)
        code, out = offline(run, rows_path, cps_path, pem)
        assert code == 1 and expected in out, out

    @pytest.mark.parametrize("forgery", ["edited", "other_key", "removed", "reordered"])
    def test_forged_checkpoints_are_caught(self, run: Any, signed: tuple[Path, Path, Path], forgery: str) -> None:
        rows_path, cps_path, pem = signed
        cps = lines(cps_path)
        if forgery == "edited":  # a larger size, payload hash re-computed; the signature cannot be
            cps[1]["size"] += 5
            body = checkpoints.payload(
                cps[1]["size"], cps[1]["head_hash"], cps[1]["time"], cps[1]["prev_checkpoint_hash"]
            )
            cps[1]["hash"] = checkpoints.hashlib.sha256(body).hexdigest()
            expected = "BROKEN at checkpoint 2: signature does not verify"
        elif forgery == "other_key":
            rogue = Ed25519PrivateKey.generate()
            body = checkpoints.payload(
                cps[1]["size"], cps[1]["head_hash"], cps[1]["time"], cps[1]["prev_checkpoint_hash"]
            )
            cps[1]["signature"] = base64.b64encode(rogue.sign(body)).decode()
            expected = "BROKEN at checkpoint 2: signature does not verify"
        elif forgery == "removed":
            del cps[0]
            expected = "BROKEN at checkpoint 1: checkpoints 1..1 are missing"
        else:
            cps.reverse()
            expected = f"BROKEN at checkpoint 1: checkpoints 1..{len(cps) - 1} are missing"
        write(cps_path, cps)
        code, out = offline(run, rows_path, cps_path, pem)
        assert code == 1 and expected in out, out

    def test_a_range_verifies_as_partial_only(self, run: Any, signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
        _, cps_path, pem = signed
        part = tmp_path / "part.jsonl"
        assert run("audit", "export", "--out", str(part), "--from-seq", "3")[0] == 0
        assert offline(run, part, cps_path, pem)[0] == 1  # rows 1..2 missing from a full export
        code, out = offline(run, part, cps_path, pem, "--partial")
        assert code == 0 and "rows 3.." in out, out

    def test_checkpoints_need_the_public_key(self, run: Any, signed: tuple[Path, Path, Path]) -> None:
        rows_path, cps_path, _ = signed
        code, out = run("audit", "verify", "--export", str(rows_path), "--checkpoints", str(cps_path))
        assert code == 1 and "without the audit public key" in out


@pytest.mark.skipif(BACKEND != "postgresql", reason="the superuser trigger bypass is PostgreSQL's")
class TestOnlineVerificationAfterSuperuserTampering:
    @pytest.mark.parametrize(
        ("statements", "expected"),
        [
            (["UPDATE audit_event SET client_ip = '10.9.9.9' WHERE seq = 5"], "BROKEN at row 5: hash does not match"),
            (["DELETE FROM audit_event WHERE seq = 5"], "BROKEN at row 5: expected row 5, found row 6"),
            (
                [
                    "UPDATE audit_event SET seq = -5 WHERE seq = 5",
                    "UPDATE audit_event SET seq = 5 WHERE seq = 6",
                    "UPDATE audit_event SET seq = 6 WHERE seq = -5",
                ],
                "BROKEN at row 5: prev_hash does not name",
            ),
            (
                [  # the tail after checkpoint 1 removed, the head row rewound to match: checkpoint 2 still knows
                    "DELETE FROM audit_event WHERE seq > (SELECT size FROM audit_checkpoint WHERE id = 1)",
                    "UPDATE audit_head SET seq = (SELECT size FROM audit_checkpoint WHERE id = 1), "
                    "hash = (SELECT head_hash FROM audit_checkpoint WHERE id = 1)",
                ],
                "(truncated tail)",
            ),
            (["UPDATE audit_checkpoint SET size = size + 1 WHERE id = 2"], "BROKEN at checkpoint 2"),
        ],
        ids=["changed", "deleted", "swapped", "truncated", "forged_checkpoint"],
    )
    def test_located(self, world: World, run: Any, database_url: str, statements: list[str], expected: str) -> None:
        busy_log(world, run)
        run("audit", "checkpoint")
        busy_log(world, run, reports=1)
        run("audit", "checkpoint")
        assert run("audit", "verify")[0] == 0
        engine = make_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("SET session_replication_role = replica"))
            for statement in statements:
                connection.execute(text(statement))
        engine.dispose()
        code, out = run("audit", "verify")
        assert code == 1 and expected in out, out
