from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select

from app.agencies import service as agencies
from app.agencies import succession
from app.agencies.models import Role
from app.cases.models import CaseFile
from app.evidence.service import path_for
from app.models_registry import all_table_names
from app.retention import service as retention
from tests.builders import PNG, World, move, push, report_payload

RETENTION_END = datetime(2025, 2, 20, 17, 0, tzinfo=UTC) + timedelta(days=730)
TICK = timedelta(microseconds=1)
NIP = "198503152010011001"


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
    def test_old_token_refused_successor_works_custody_moves(self, world: World) -> None:
        case_id = push(world, report_payload()).json()["case"]["id"]
        kasn_headers = world.auth("KASN")
        world.add_agency("BKN", [])
        bkn = world.add_client("BKN", ["cases:read", "cases:write", "sanctions:write", "identity:read"])
        moved = succession.transfer_role(
            world.db,
            role=Role.case_authority,
            source=agencies.require_by_code(world.db, "KASN"),
            successor=agencies.require_by_code(world.db, "BKN"),
            now=world.clock.now(),
        )
        world.db.commit()
        assert moved == 1
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth(f"BKN:{bkn.client_id}")).headers["etag"]
        refused = world.client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"to": "screening", "reason": "x"},
            headers={**kasn_headers, "If-Match": tag},
        )
        assert refused.status_code == 403
        assert move(world, case_id, "screening", agency=f"BKN:{bkn.client_id}").status_code == 200
        world.db.rollback()
        case = world.db.exec(select(CaseFile)).one()
        assert case.custodian_agency_id == agencies.require_by_code(world.db, "BKN").id
        kinds = [e["kind"] for e in world.client.get("/api/v1/events", headers=world.auth("BAWASLU")).json()["items"]]
        assert "case.custody_transferred" in kinds
