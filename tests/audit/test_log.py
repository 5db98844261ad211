"""Every request leaves exactly one audit row, refusals included; the log is append-only and chained."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.audit import checkpoints, receipts, service
from app.audit.models import AuditEvent
from app.audit.verify import verify
from tests.builders import World, push, report_payload
from tests.database import BACKEND


def exported_rows(world: World) -> list[dict[str, Any]]:
    world.sealed()
    return [service.as_export(e) for e in service.iter_events(world.db)]


def rows(world: World) -> list[AuditEvent]:
    world.sealed()
    return list(world.db.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def one_new_row(world: World, call: Any) -> tuple[Any, AuditEvent]:
    before = len(rows(world))
    response = call()
    after = rows(world)
    assert len(after) == before + 1, [(r.action, r.status) for r in after[before:]]
    return response, after[-1]


class TestOneRowPerRequest:
    def test_write_row_and_receipt(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "audit-1"}  # token first: its own row
        response, row = one_new_row(
            world, lambda: world.client.post("/api/v1/reports", json=report_payload(), headers=headers)
        )
        assert response.status_code == 201
        assert (row.action, row.outcome, row.status, row.agency) == ("submit_report", "allowed", 201, "APTIKA")
        assert row.body_sha256 and row.token_id and row.request_id == response.headers["x-request-id"]
        world.sealed()
        sealed = world.db.get(AuditEvent, row.id)
        assert sealed is not None and sealed.seq is not None  # chained by the sealer, after the answer
        public = checkpoints.private_key(world.settings).public_key()
        assert receipts.verify(response.headers["audit-receipt"], service.as_export(sealed), public)
        forged = response.headers["audit-receipt"].replace("sig=", "sig=A")
        assert not receipts.verify(forged, service.as_export(sealed), public)

    @pytest.mark.parametrize(
        ("label", "expected"),
        [
            ("anonymous", 401),
            ("wrong_scope", 403),
            ("not_found", 404),
            ("invalid", 422),
            ("illegal_move", 409),
            ("bad_client", 401),
        ],
    )
    def test_refusals_are_recorded_though_rolled_back(self, world: World, label: str, expected: int) -> None:
        case_id = push(world, report_payload()).json()["case"]["id"]
        kasn, aptika = world.auth("KASN"), world.auth("APTIKA")
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn).headers["etag"]
        calls = {
            "anonymous": lambda: world.client.get("/api/v1/cases"),
            "wrong_scope": lambda: world.client.get("/api/v1/cases", headers=aptika),
            "not_found": lambda: world.client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=kasn),
            "invalid": lambda: world.client.post(
                "/api/v1/reports", json={"x": 1}, headers={**aptika, "Idempotency-Key": "i"}
            ),
            "illegal_move": lambda: world.client.post(
                f"/api/v1/cases/{case_id}/transitions",
                json={"to": "closed", "reason": "x"},
                headers={**kasn, "If-Match": tag},
            ),
            "bad_client": lambda: world.client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "wrong")
            ),
        }
        response, row = one_new_row(world, calls[label])
        assert response.status_code == expected
        assert (row.outcome, row.status) == ("refused", expected)

    def test_reads_are_recorded_with_object_ids(self, world: World) -> None:
        case_id = push(world, report_payload()).json()["case"]["id"]
        observer = world.auth("BAWASLU")
        _, row = one_new_row(world, lambda: world.client.get(f"/api/v1/cases/{case_id}", headers=observer))
        assert row.action == "get_case" and row.agency == "BAWASLU"
        report_ids = [r["id"] for r in world.client.get(f"/api/v1/cases/{case_id}", headers=observer).json()["reports"]]
        assert row.object_ids == {"case_id": case_id, "case_ids": [case_id], "report_ids": report_ids}


class TestIntegrity:
    def test_chain_verifies_and_tampering_is_located(self, world: World) -> None:
        for n in range(6):
            push(world, report_payload(f"T-{n}", content_url=f"https://x.com/t/{n}"))
        exported = exported_rows(world)
        assert verify(exported).ok
        changed = [dict(r) for r in exported]
        changed[3]["status"] = 200 if changed[3]["status"] != 200 else 201
        assert verify(changed).bad_seq == changed[3]["seq"]
        deleted = exported[:4] + exported[5:]
        assert verify(deleted).bad_seq == 5
        swapped = exported[:2] + [exported[3], exported[2]] + exported[4:]
        assert verify(swapped).bad_seq == 3

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_event SET status = 200",
            "DELETE FROM audit_event",
            "UPDATE audit_head SET seq = 0, hash = '0000000000000000000000000000000000000000000000000000000000000000'",
            "UPDATE audit_head SET seq = seq + 1",  # forward, but to no sealed row
            "DELETE FROM audit_head",
        ],
    )
    def test_database_refuses_changes(self, world: World, statement: str) -> None:
        world.token("APTIKA")
        world.sealed()  # the head has moved: a rewind is a real rewind
        with pytest.raises(DBAPIError):
            world.db.exec(text(statement))  # type: ignore[call-overload]
        world.db.rollback()

    @pytest.mark.skipif(BACKEND != "postgresql", reason="TRUNCATE and superuser bypass are PostgreSQL's")
    def test_truncate_refused_and_superuser_bypass_detected(self, world: World) -> None:
        for n in range(3):
            push(world, report_payload(f"S-{n}", content_url=f"https://x.com/s/{n}"))
        world.sealed()  # the rows are in the chain (the sealer's work, done here at once)
        with pytest.raises(DBAPIError):
            world.db.exec(text("TRUNCATE audit_event"))  # type: ignore[call-overload]
        world.db.rollback()
        world.db.exec(text("SET session_replication_role = replica"))  # type: ignore[call-overload]
        world.db.exec(text("UPDATE audit_event SET client_ip = '10.0.0.1' WHERE seq = 4"))  # type: ignore[call-overload]
        world.db.commit()
        result = verify(exported_rows(world))
        assert not result.ok and result.bad_seq == 4

    def test_no_token_or_secret_in_the_log(self, world: World) -> None:
        token = world.token("KASN")
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        dump = str([r.model_dump() for r in rows(world)])
        assert token not in dump and token.split(".")[2] not in dump
        assert world.clients["KASN"].secret not in dump
