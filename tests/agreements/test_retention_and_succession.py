import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select

from app.agencies import service as agencies
from app.audit.models import AuditEvent
from app.cases.models import CaseFile
from app.evidence.service import path_for
from app.models_registry import all_table_names
from app.retention import service as retention
from tests.builders import PNG, World, cli_client, move, push, report_payload

RETENTION_END = datetime(2025, 2, 20, 17, 0, tzinfo=UTC) + timedelta(days=730)
TICK = timedelta(microseconds=1)
NIP = "198503152010011001"
PKS = "PKS-2024-APTIKA-KASN"


def closed_case_with_personal_data(world: World) -> tuple[str, str]:
    sha = world.client.post(
        "/api/v1/evidence", content=PNG, headers={**world.auth("APTIKA"), "Content-Type": "image/png"}
    ).json()["sha256"]
    payload = report_payload(
        source="public_complaint",
        public_reporter={"name": "Siti Warga", "contact": "0812-555"},
        evidence=[{"sha256": sha, "kind": "screenshot"}],
    )
    case_id = push(world, payload).json()["case"]["id"]
    for step in ("screening", "rejected", "closed"):
        assert move(world, case_id, step, reason=f"Budi Santoso {NIP} out of scope").status_code == 200
    return case_id, sha


def dump_database(world: World) -> str:
    world.db.rollback()
    rows = []
    for table in all_table_names():
        rows += [str(tuple(r)) for r in world.db.exec(text(f'SELECT * FROM "{table}"'))]  # noqa: S608  # type: ignore[call-overload]
    return "\n".join(rows)


class TestRetentionPurge:
    def test_nothing_is_purged_before_the_retention_end(self, world: World) -> None:
        closed_case_with_personal_data(world)
        world.clock.set(RETENTION_END - TICK)
        assert retention.purge(world.db, world.settings, now=world.clock.now(), dry_run=False).cases == 0

    def test_purge_leaves_no_personal_data_and_is_idempotent(self, world: World) -> None:
        case_id, sha = closed_case_with_personal_data(world)
        assert "Budi Santoso" in dump_database(world)
        world.clock.set(RETENTION_END + TICK)
        dry = retention.purge(world.db, world.settings, now=world.clock.now(), dry_run=True)
        assert dry.cases == 1 and "Budi Santoso" in dump_database(world)
        result = retention.purge(world.db, world.settings, now=world.clock.now(), dry_run=False)
        world.db.commit()
        assert (result.cases, result.reports, result.evidence_files) == (1, 1, 1)
        counts = world.client.get("/api/v1/stats", headers=world.auth("ITJEN")).json()
        assert counts["cases_total"] == 1 and counts["reports_total"] == 1
        dump = dump_database(world)
        for personal in ("Budi Santoso", NIP, "Siti", "0812-555", "budi.santoso", "Ayo dukung"):
            assert personal not in dump, personal
        assert not path_for(world.settings, sha).exists()
        again = retention.purge(world.db, world.settings, now=world.clock.now(), dry_run=False)
        world.db.commit()
        assert again.cases == 0 and dump_database(world) == dump
        gone = world.client.get(f"/api/v1/evidence/{sha}", headers=world.auth("KASN"))  # the hash stays on record
        assert gone.status_code == 410 and gone.json()["type"] == "/problems/evidence-purged"


class TestSubjectExport:
    def test_export_has_everything_about_one_asn(self, world: World) -> None:
        case_id, _ = closed_case_with_personal_data(world)
        exported = retention.subject_export(world.db, identifier=NIP)
        assert [r["asn_name"] for r in exported["reports"]] == ["Budi Santoso"]
        assert [c["id"] for c in exported["cases"]] == [case_id]
        assert [h["to_status"] for h in exported["status_history"]] == ["submitted", "screening", "rejected", "closed"]
        assert "Siti" not in str(exported)  # the complainant's identity is not the subject's data

    def test_export_has_the_access_trail(self, world: World) -> None:
        case_id, _ = closed_case_with_personal_data(world)
        world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("BAWASLU"))
        world.client.get("/api/v1/cases", headers=world.auth("ITJEN"))  # refused: not about this case
        world.sealed()
        trail = retention.subject_export(world.db, identifier=NIP)["access_trail"]
        seen = {(t["agency"], t["action"], t["outcome"]) for t in trail}
        assert {
            ("APTIKA", "submit_report", "allowed"),
            ("KASN", "transition_case", "allowed"),
            ("BAWASLU", "get_case", "allowed"),
        } <= seen
        assert all(t["agency"] != "ITJEN" for t in trail)
        assert [t["seq"] for t in trail] == sorted(t["seq"] for t in trail)
        assert NIP not in str(trail)


class TestSuccession:
    """Through the CLI the operator runs: the custody bug hid because tests called an internal function."""

    def test_transfer_role_moves_role_agreements_and_custody(self, world: World, run) -> None:  # type: ignore[no-untyped-def]
        case_id = push(world, report_payload()).json()["case"]["id"]
        closed_id = push(world, report_payload("APT-0002", content_url="https://x.com/a/status/1")).json()["case"]["id"]
        for step in ("screening", "rejected", "closed"):
            assert move(world, closed_id, step).status_code == 200
        kasn_headers = world.auth("KASN")
        assert run("agencies", "create", "BKN", "--name", "Badan Kepegawaian Negara", "--role", "reporter")[0] == 0
        bkn = cli_client(world, run, "BKN", "cases:read", "cases:write", "sanctions:write", "identity:read")

        code, out = run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "BKN")
        assert code == 0, out
        assert "open cases moved into BKN's custody: 1" in out and "PKS-2024" in out

        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth(bkn)).headers["etag"]
        refused = world.client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"to": "screening", "reason": "x"},
            headers={**kasn_headers, "If-Match": tag},
        )
        assert refused.status_code == 403
        assert move(world, case_id, "screening", agency=bkn).status_code == 200
        world.db.rollback()
        custodians = {str(c.id): c.custodian_agency_id for c in world.db.exec(select(CaseFile))}
        bkn_id, kasn_id = (agencies.require_by_code(world.db, code).id for code in ("BKN", "KASN"))
        assert custodians == {case_id: bkn_id, closed_id: kasn_id}  # a closed case keeps its history's custodian
        feed = world.client.get("/api/v1/events", headers=world.auth("BAWASLU")).json()["items"]
        moved = [e for e in feed if e["kind"] == "case.custody_transferred"]
        assert [e["case_id"] for e in moved] == [case_id]
        world.sealed()
        row = world.db.exec(select(AuditEvent).where(AuditEvent.action == "cli:agencies.transfer-role")).one()
        assert row.outcome == "allowed" and row.object_ids["case_ids"] == [case_id]
        # new reports now route to the successor
        new_case = push(world, report_payload("APT-0003", content_url="https://x.com/a/status/2")).json()["case"]["id"]
        world.db.rollback()
        assert world.db.get(CaseFile, uuid.UUID(new_case)).custodian_agency_id == bkn_id  # type: ignore[union-attr]

    def test_refused_transfer_changes_nothing(self, world: World, run) -> None:  # type: ignore[no-untyped-def]
        code, out = run("agencies", "transfer-role", "--role", "case_authority", "--from", "BAWASLU", "--to", "KASN")
        assert code == 1 and "does not hold the role" in out
        assert run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "KASN")[0] == 1
        world.db.rollback()
        assert agencies.current_roles(
            world.db, agency_id=agencies.require_by_code(world.db, "KASN").id, now=world.clock.now()
        ) == {"case_authority"}


WIND_DOWN_END = datetime(2025, 2, 20, 17, 0, tzinfo=UTC) + timedelta(days=30)


class TestEndOfTheDataLife:
    """A case still open when no agreement lets anyone work on it is closed administratively (reason on
    record) by `netral retention purge`, then purged with the rest once retention ends."""

    def test_open_case_is_closed_administratively_then_purged(self, world: World, run) -> None:  # type: ignore[no-untyped-def]
        open_id = push(world, report_payload()).json()["case"]["id"]
        psu_payload = report_payload("PSU-1", content_url="https://x.com/psu/status/1")
        psu_payload["asn"]["region_code"] = "31.71"
        extended_id = push(world, psu_payload).json()["case"]["id"]
        code, _ = run("agreements", "extend", PKS, "--region", "31.71", "--until", "2026-01-01", "--reason", "PSU")
        assert code == 0

        world.clock.set(WIND_DOWN_END - TICK)
        code, out = run("retention", "purge")
        assert code == 0 and "closed administratively: 0 open case(s)" in out

        world.clock.set(WIND_DOWN_END + TICK)
        assert "would close administratively: 1 open case(s)" in run("retention", "purge", "--dry-run")[1]
        code, out = run("retention", "purge")
        assert code == 0 and "closed administratively: 1 open case(s)" in out and "purged: 0 case(s)" in out
        reader = world.auth("BAWASLU")
        assert world.client.get(f"/api/v1/cases/{open_id}", headers=reader).json()["status"] == "closed"
        assert world.client.get(f"/api/v1/cases/{extended_id}", headers=reader).json()["status"] == "submitted"
        history = world.client.get(f"/api/v1/cases/{open_id}/history", headers=reader).json()["items"]
        assert history[-1]["from_status"] == "submitted" and history[-1]["to_status"] == "closed"
        assert history[-1]["reason"].startswith("administrative closure: agreement PKS-2024")
        assert "closed administratively: 0" in run("retention", "purge")[1]  # idempotent

        world.clock.set(RETENTION_END + TICK)
        code, out = run("retention", "purge")
        assert code == 0 and "purged: 2 case(s)" in out  # the extension ended meanwhile: closed, then purged
        dump = dump_database(world)
        assert "Budi Santoso" not in dump and NIP not in dump
        history = world.client.get(f"/api/v1/cases/{open_id}/history", headers=world.auth("BAWASLU")).json()["items"]
        assert history[-1]["reason"].startswith("administrative closure")  # the service's own words stay


class TestSubjectExportAudit:
    def test_audit_row_names_the_subject_by_keyed_pseudonym_and_ids(self, world: World, run) -> None:  # type: ignore[no-untyped-def]
        case_id = push(world, report_payload()).json()["case"]["id"]
        code, out = run("subject", "export", "--nip", NIP)
        assert code == 0 and json.loads(out)["cases"][0]["id"] == case_id
        world.sealed()
        row = world.db.exec(select(AuditEvent).where(AuditEvent.action == "cli:subject.export")).one()
        assert row.object_ids["case_ids"] == [case_id]
        assert row.object_ids["subject_ref"].startswith("subject-")
        unkeyed = hashlib.sha256(NIP.encode()).hexdigest()
        dump = dump_database(world)
        assert unkeyed not in dump and unkeyed[:24] not in dump and NIP not in row.model_dump_json()
