from typing import Any

import pytest
from sqlmodel import select

from app.cases.models import CaseFile, CaseStatusChange
from tests.builders import World, move, push, report_payload

LIFECYCLE_TO_SANCTION = ["screening", "clarification", "assessment", "recommendation_issued"]
SANCTION = {
    "track": "discipline",
    "code": "written_reprimand",
    "legal_basis": "PP 94/2021 Ps 8 ayat (2)",
    "decided_by": "Wali Kota Bandung",
    "decree_number": "800/123/BKPSDM",
    "decree_date": "2024-07-01",
}


def new_case(world: World, reference: str = "C-1", **changes: Any) -> str:
    response = push(world, report_payload(reference, content_url=f"https://x.com/a/status/{reference}", **changes))
    assert response.status_code == 201, response.text
    return str(response.json()["case"]["id"])


def walk(world: World, case_id: str, steps: list[str]) -> None:
    for step in steps:
        response = move(world, case_id, step)
        assert response.status_code == 200, response.text


class TestGetCase:
    def test_authority_reads_with_etag(self, world: World) -> None:
        case_id = new_case(world, public_reporter={"name": "Siti"}, source="public_complaint")
        response = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN"))
        assert response.status_code == 200
        assert response.headers["etag"] == f'"{case_id}.1"'
        body = response.json()
        assert body["status"] == "submitted" and body["custodian_agency"] == "KASN"
        assert body["reports"][0]["has_public_reporter"] is True

    def test_observer_never_sees_reporter_identity(self, world: World) -> None:
        case_id = new_case(world, public_reporter={"name": "Siti Warga"}, source="public_complaint")
        response = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("BAWASLU"))
        assert response.status_code == 200
        assert "has_public_reporter" not in response.json()["reports"][0]
        assert "Siti" not in response.text
        identity = world.client.get(
            f"/api/v1/cases/{case_id}/reports/{response.json()['reports'][0]['id']}/reporter-identity",
            headers=world.auth("BAWASLU"),
        )
        assert identity.status_code == 403

    def test_authority_decrypts_identity(self, world: World) -> None:
        case_id = new_case(world, public_reporter={"name": "Siti Warga", "contact": "0812"}, source="public_complaint")
        report_id = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN")).json()["reports"][0]["id"]
        response = world.client.get(
            f"/api/v1/cases/{case_id}/reports/{report_id}/reporter-identity", headers=world.auth("KASN")
        )
        assert response.status_code == 200 and response.json()["name"] == "Siti Warga"

    def test_reporter_and_auditor_cannot_read_cases(self, world: World) -> None:
        case_id = new_case(world)
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("APTIKA")).status_code == 403
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("ITJEN")).status_code == 403

    def test_unknown_case_is_404(self, world: World) -> None:
        response = world.client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=world.auth("KASN"))
        assert response.status_code == 404


class TestListCases:
    def test_filters(self, world: World) -> None:
        a = new_case(world, "F-1")
        new_case(world, "F-2", platform="tiktok")
        walk(world, a, ["screening"])
        headers = world.auth("KASN")

        def ids(**params: Any) -> set[str]:
            response = world.client.get("/api/v1/cases", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return {c["id"] for c in response.json()["items"]}

        assert ids(status="screening") == {a}
        assert len(ids(platform="tiktok")) == 1
        assert len(ids(region="32")) == 2 and ids(region="31") == set()
        assert len(ids(custodian="KASN")) == 2
        assert ids(overdue=True) == set()
        assert world.client.get("/api/v1/cases", params={"status": "bogus"}, headers=headers).status_code == 422


# DESIGN.md's lifecycle, as the transitions route serves it (needs_info ⇄ screening goes through an information
# request and its answer, tested in TestInformationRequests). A literal copy: never derived from the code.
LIFECYCLE: dict[str, set[str]] = {
    "submitted": {"screening"},
    "screening": {"clarification", "rejected", "referred_bawaslu"},
    "needs_info": set(),
    "clarification": {"assessment"},
    "assessment": {"not_proven", "recommendation_issued"},
    "recommendation_issued": {"sanction_reported"},
    "sanction_reported": {"closed"},
    "not_proven": {"closed"},
    "rejected": {"closed"},
    "referred_bawaslu": {"closed"},
    "closed": set(),
}


class TestTransitions:
    def test_full_lifecycle_with_history(self, world: World) -> None:
        case_id = new_case(world)
        walk(world, case_id, [*LIFECYCLE_TO_SANCTION, "sanction_reported", "closed"])
        history = world.client.get(f"/api/v1/cases/{case_id}/history", headers=world.auth("BAWASLU")).json()["items"]
        assert [h["to_status"] for h in history] == ["submitted", *LIFECYCLE_TO_SANCTION, "sanction_reported", "closed"]
        assert history[1]["actor_agency"] == "KASN" and history[0]["actor_agency"] == "APTIKA"

    def test_every_disallowed_transition_is_409_and_changes_nothing(self, world: World) -> None:
        """For each state reachable here, every target outside the table is refused. The table is a literal
        copy of DESIGN.md's lifecycle, not the code's ALLOWED_TRANSITIONS, so a change there fails here."""
        path = ["screening", "clarification", "assessment", "recommendation_issued", "sanction_reported", "closed"]
        case_id = new_case(world)
        for step in [None, *path]:
            if step:
                walk(world, case_id, [step])
            current = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN")).json()
            allowed = LIFECYCLE[current["status"]]
            for target in sorted(set(LIFECYCLE) - allowed):
                response = move(world, case_id, target)
                assert response.status_code == 409, (current["status"], target)
                assert response.json()["type"] == "/problems/invalid-transition"
            after = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN")).json()
            assert after["version"] == current["version"] and after["status"] == current["status"]

    def test_each_allowed_move_succeeds(self, world: World) -> None:
        """Every edge of the literal table that the transitions route takes, walked on a fresh case."""
        walks = [
            ["screening", "clarification", "assessment", "recommendation_issued", "sanction_reported", "closed"],
            ["screening", "clarification", "assessment", "not_proven", "closed"],
            ["screening", "rejected", "closed"],
            ["screening", "referred_bawaslu", "closed"],
        ]
        edges = set()
        for n, steps in enumerate(walks):
            case_id = new_case(world, f"W-{n}")
            walk(world, case_id, steps)
            edges |= set(zip(["submitted", *steps], steps, strict=False))
        literal = {(frm, to) for frm, tos in LIFECYCLE.items() for to in tos}
        assert edges == literal

    def test_if_match_rules(self, world: World) -> None:
        case_id = new_case(world)
        headers = world.auth("KASN")
        body = {"to": "screening", "reason": "start"}
        missing = world.client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers)
        assert missing.status_code == 428
        stale = world.client.post(
            f"/api/v1/cases/{case_id}/transitions", json=body, headers={**headers, "If-Match": f'"{case_id}.0"'}
        )
        assert stale.status_code == 412
        world.db.rollback()
        assert world.db.get(CaseFile, __import__("uuid").UUID(case_id)).status == "submitted"

    def test_same_etag_twice_gives_one_success_and_one_412(self, world: World) -> None:
        case_id = new_case(world)
        headers = world.auth("KASN")
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["etag"]
        first = world.client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"to": "screening", "reason": "a"},
            headers={**headers, "If-Match": tag},
        )
        second = world.client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"to": "screening", "reason": "b"},
            headers={**headers, "If-Match": tag},
        )
        assert (first.status_code, second.status_code) == (200, 412)

    def test_observer_cannot_move_cases(self, world: World) -> None:
        case_id = new_case(world)
        assert move(world, case_id, "screening", agency="BAWASLU").status_code == 403

    def test_non_custodian_authority_gets_404(self, world: World) -> None:
        from app.agencies.models import Role

        case_id = new_case(world)
        world.add_agency("BKN", [Role.case_authority])
        bkn = world.add_client("BKN", ["cases:read", "cases:write"])
        response = move(world, case_id, "screening", agency=f"BKN:{bkn.client_id}")
        assert response.status_code == 404


class TestInformationRequests:
    def test_round_trip_back_to_screening(self, world: World) -> None:
        case_id = new_case(world)
        walk(world, case_id, ["screening"])
        headers = world.auth("KASN")
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["etag"]
        asked = world.client.post(
            f"/api/v1/cases/{case_id}/information-requests",
            json={"question": "Mohon tangkapan layar asli"},
            headers={**headers, "If-Match": tag},
        )
        assert asked.status_code == 201
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["status"] == "needs_info"
        assert move(world, case_id, "screening").status_code == 409  # only the reporter's answer does this

        reporter = world.auth("APTIKA")
        open_requests = world.client.get("/api/v1/information-requests", headers=reporter).json()["items"]
        assert [r["id"] for r in open_requests] == [asked.json()["id"]]
        answer = world.client.post(
            f"/api/v1/information-requests/{asked.json()['id']}/answer", json={"note": "Terlampir"}, headers=reporter
        )
        assert answer.status_code == 200
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["status"] == "screening"
        again = world.client.post(
            f"/api/v1/information-requests/{asked.json()['id']}/answer", json={"note": "lagi"}, headers=reporter
        )
        assert again.status_code == 409

    def test_addressed_to_the_reporter_of_one_report_only(self, world: World) -> None:
        """Two reporters on one case: the request about KOMDIGI's report is KOMDIGI's alone to see and answer;
        APTIKA neither lists it, nor sees it on its report, nor in its feed, nor can answer it."""
        from app.access.roles import Role

        case_id = new_case(world)
        world.add_agency("KOMDIGI", [Role.reporter])
        other = world.add_client("KOMDIGI", ["reports:read", "reports:write"])
        komdigi = world.auth(f"KOMDIGI:{other.client_id}")
        joined = world.client.post(
            "/api/v1/reports",
            json=report_payload("KMD-1", content_url="https://x.com/a/status/C-1"),
            headers={**komdigi, "Idempotency-Key": "kmd-1"},
        ).json()
        assert joined["case"]["id"] == case_id
        walk(world, case_id, ["screening"])
        headers = world.auth("KASN")
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["etag"]
        asked = world.client.post(
            f"/api/v1/cases/{case_id}/information-requests",
            json={"question": "Kapan tangkapan layar dibuat?", "report_id": joined["id"]},
            headers={**headers, "If-Match": tag},
        )
        assert asked.status_code == 201 and asked.json()["report_id"] == joined["id"]
        question = asked.json()["id"]

        aptika = world.auth("APTIKA")
        assert world.client.get("/api/v1/information-requests", headers=aptika).json()["items"] == []
        assert (
            world.client.get("/api/v1/reports", headers=aptika).json()["items"][0]["case"]["open_information_requests"]
            == []
        )
        aptika_feed = world.client.get("/api/v1/events", headers=aptika).json()["items"]
        assert "case.information_requested" not in {e["kind"] for e in aptika_feed}
        refused = world.client.post(
            f"/api/v1/information-requests/{question}/answer", json={"note": "x"}, headers=aptika
        )
        assert refused.status_code == 404

        listed = world.client.get("/api/v1/information-requests", headers=komdigi).json()["items"]
        assert [q["id"] for q in listed] == [question]
        answered = world.client.post(
            f"/api/v1/information-requests/{question}/answer", json={"note": "2024-06-01"}, headers=komdigi
        )
        assert answered.status_code == 200
        history = world.client.get("/api/v1/information-requests?open_only=false", headers=aptika).json()["items"]
        assert history == []  # nor the other reporter's answer note

    def test_a_report_not_on_the_case_is_422(self, world: World) -> None:
        case_id = new_case(world)
        new_case(world, "C-2")
        reports = world.client.get("/api/v1/reports", headers=world.auth("APTIKA")).json()["items"]
        other_report = next(r["id"] for r in reports if r["reference"] == "C-2")
        walk(world, case_id, ["screening"])
        headers = world.auth("KASN")
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["etag"]
        response = world.client.post(
            f"/api/v1/cases/{case_id}/information-requests",
            json={"question": "?", "report_id": other_report},
            headers={**headers, "If-Match": tag},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/report_id"
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["status"] == "screening"


class TestSanctions:
    def test_only_in_states_that_allow_it(self, world: World) -> None:
        case_id = new_case(world)
        response = world.client.post(f"/api/v1/cases/{case_id}/sanctions", json=SANCTION, headers=world.auth("KASN"))
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/sanction-not-allowed"  # not a lifecycle move

    def test_records_several_tracks_and_reporter_sees_outcome(self, world: World) -> None:
        case_id = new_case(world)
        walk(world, case_id, LIFECYCLE_TO_SANCTION)
        headers = world.auth("KASN")
        first = world.client.post(f"/api/v1/cases/{case_id}/sanctions", json=SANCTION, headers=headers)
        assert first.status_code == 201 and first.json()["level"] == "light"
        ethics = {**SANCTION, "track": "ethics", "code": "moral_statement_open"}
        assert world.client.post(f"/api/v1/cases/{case_id}/sanctions", json=ethics, headers=headers).status_code == 201
        duplicate = world.client.post(f"/api/v1/cases/{case_id}/sanctions", json=SANCTION, headers=headers)
        assert duplicate.status_code == 409
        reports = world.client.get("/api/v1/reports", headers=world.auth("APTIKA")).json()["items"]
        assert {o["code"] for o in reports[0]["case"]["outcome"]} == {"written_reprimand", "moral_statement_open"}

    @pytest.mark.parametrize(
        "change", [{"code": "beheading"}, {"track": "ethics"}, {"decree_date": "yesterday"}, {"extra": 1}]
    )
    def test_invalid_sanction_is_422(self, world: World, change: dict[str, Any]) -> None:
        case_id = new_case(world)
        walk(world, case_id, LIFECYCLE_TO_SANCTION)
        response = world.client.post(
            f"/api/v1/cases/{case_id}/sanctions", json={**SANCTION, **change}, headers=world.auth("KASN")
        )
        assert response.status_code == 422

    def test_reporter_cannot_record(self, world: World) -> None:
        case_id = new_case(world)
        response = world.client.post(f"/api/v1/cases/{case_id}/sanctions", json=SANCTION, headers=world.auth("APTIKA"))
        assert response.status_code == 403


class TestHistoryRows:
    def test_status_changes_are_stored(self, world: World) -> None:
        case_id = new_case(world)
        walk(world, case_id, ["screening", "rejected"])
        world.db.rollback()
        rows = world.db.exec(select(CaseStatusChange).order_by(CaseStatusChange.id)).all()
        assert [(r.from_status, r.to_status) for r in rows] == [
            (None, "submitted"),
            ("submitted", "screening"),
            ("screening", "rejected"),
        ]
