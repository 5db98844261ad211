"""The agreement clock: each boundary one microsecond before and after, with an injected clock.

The 2024 PKS (seeded): valid 2023-10-26 00:00 WIB → 2025-02-21 00:00 WIB (through 20 Feb), 30 days of
wind-down, 730 days of retention."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.agreements import service as agreements
from app.agreements.models import Agreement
from app.core.clock import FrozenClock
from tests.builders import World, push, report_payload

VALID_FROM = datetime(2023, 10, 25, 17, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2025, 2, 20, 17, 0, tzinfo=UTC)
WIND_DOWN_END = VALID_UNTIL + timedelta(days=30)
TICK = timedelta(microseconds=1)


@pytest.fixture
def clock() -> FrozenClock:
    """Agencies and roles are seeded before the agreement starts."""
    return FrozenClock(datetime(2023, 9, 1, tzinfo=UTC))


def at(world: World, moment: datetime) -> None:
    world.clock.set(moment)


def token_status(world: World, agency: str, scope: str) -> int:
    return int(world.token_response(agency, scope).status_code)


def new_case(world: World, reference: str, region: str = "32.73") -> tuple[str, dict[str, str]]:
    payload = report_payload(reference, content_url=f"https://x.com/a/status/{reference}")
    payload["asn"]["region_code"] = region
    response = push(world, payload)
    assert response.status_code == 201, response.text
    return response.json()["case"]["id"], world.auth("KASN")


def transition(world: World, case_id: str, headers: dict[str, str], to: str) -> Any:
    tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers.get("etag", '"?"')
    return world.client.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": to, "reason": "clock test"},
        headers={**headers, "If-Match": tag},
    )


def assert_refused(response: Any, slug: str = "agreement-expired") -> None:
    assert response.status_code == 403, response.text
    assert response.json()["type"] == f"/problems/{slug}"


class TestValidFrom:
    def test_nothing_is_exchanged_before(self, world: World) -> None:
        at(world, VALID_FROM - TICK)
        assert token_status(world, "APTIKA", "reports:write") == 400
        token = world.token("ITJEN")  # audit access is not exchange
        assert token
        at(world, VALID_FROM + TICK)
        assert token_status(world, "APTIKA", "reports:write") == 200
        assert push(world, report_payload("FROM-1")).status_code == 201

    def test_a_token_with_the_scope_cannot_be_used_early(self, world: World) -> None:
        at(world, VALID_FROM + TICK)
        headers = world.auth("APTIKA")
        at(world, VALID_FROM - TICK)  # a clock set back: the token's iat is within leeway
        response = world.client.post(
            "/api/v1/reports", json=report_payload("EARLY"), headers={**headers, "Idempotency-Key": "early"}
        )
        assert_refused(response, "agreement-not-active")


class TestValidUntil:
    def test_new_reports_stop_at_the_end(self, world: World) -> None:
        at(world, VALID_UNTIL - TICK)
        headers = world.auth("APTIKA")
        ok = world.client.post(
            "/api/v1/reports", json=report_payload("END-1"), headers={**headers, "Idempotency-Key": "e1"}
        )
        assert ok.status_code == 201
        at(world, VALID_UNTIL + TICK)
        late = world.client.post(
            "/api/v1/reports", json=report_payload("END-2"), headers={**headers, "Idempotency-Key": "e2"}
        )
        assert_refused(late)
        # reports:write stays grantable in the wind-down (to answer information requests), not to report

    def test_case_work_continues_in_the_wind_down(self, world: World) -> None:
        at(world, VALID_UNTIL - timedelta(days=1))
        case_id, _ = new_case(world, "WD-1")
        at(world, VALID_UNTIL + TICK)
        assert transition(world, case_id, world.auth("KASN"), "screening").status_code == 200


class TestWindDownEnd:
    def test_case_writes_stop_reads_continue(self, world: World) -> None:
        at(world, VALID_UNTIL - timedelta(days=1))
        case_id, _ = new_case(world, "WDE-1")
        at(world, WIND_DOWN_END - TICK)
        kasn = world.auth("KASN")
        assert transition(world, case_id, kasn, "screening").status_code == 200
        at(world, WIND_DOWN_END + TICK)
        assert_refused(transition(world, case_id, kasn, "clarification"))
        assert token_status(world, "KASN", "cases:write") == 400
        observer = world.auth("BAWASLU")
        assert world.client.get(f"/api/v1/cases/{case_id}", headers=observer).status_code == 200
        assert world.client.get("/api/v1/stats", headers=world.auth("ITJEN")).status_code == 200


class TestRegionExtension:
    def test_extension_keeps_exactly_that_regions_cases_open(self, world: World) -> None:
        at(world, VALID_UNTIL - timedelta(days=1))
        bandung, _ = new_case(world, "PSU-1", region="32.73")
        jakarta, _ = new_case(world, "PSU-2", region="31.71")
        agreement = world.db.exec(select(Agreement)).one()
        extension_end = WIND_DOWN_END + timedelta(days=60)
        agreements.extend(world.db, agreement, region_code="32.73", valid_until=extension_end, reason="PSU")
        world.db.commit()

        at(world, WIND_DOWN_END + timedelta(days=1))
        kasn = world.auth("KASN")  # the extension keeps case-work scopes grantable
        assert transition(world, bandung, kasn, "screening").status_code == 200
        assert_refused(transition(world, jakarta, kasn, "screening"))
        body = world.client.get("/api/v1/agreement", headers=kasn).json()
        assert body["state"] == "expired" and body["running_extensions"][0]["region_code"] == "32.73"

        at(world, extension_end - TICK)
        kasn = world.auth("KASN")
        assert transition(world, bandung, kasn, "clarification").status_code == 200
        at(world, extension_end + TICK)
        assert_refused(transition(world, bandung, kasn, "assessment"))
        assert token_status(world, "KASN", "cases:write") == 400


class TestAgreementEndpointAndSunset:
    def test_state_dates_and_sunset_header(self, world: World) -> None:
        at(world, VALID_UNTIL - timedelta(days=10))
        response = world.client.get("/api/v1/agreement", headers=world.auth("APTIKA"))
        assert response.status_code == 200
        body = response.json()
        assert body["state"] == "active" and body["days_left"] == 10
        assert response.headers["sunset"] == "Thu, 20 Feb 2025 17:00:00 GMT"
        assert "ends in 10 day(s)" in response.headers["warning"]

    def test_no_warning_far_from_the_end(self, world: World) -> None:
        at(world, VALID_UNTIL - timedelta(days=200))
        response = world.client.get("/api/v1/me", headers=world.auth("APTIKA"))
        assert "sunset" in response.headers and "warning" not in response.headers


SANCTION = {
    "track": "discipline",
    "code": "oral_reprimand",
    "legal_basis": "PP 94/2021",
    "decided_by": "PPK",
    "decree_number": "1/SK",
    "decree_date": "2025-01-01",
}


def reporter_writes(world: World, headers: dict[str, str], n: int) -> dict[str, Any]:
    batch = {"items": [report_payload(f"BATCH-{n}", content_url=f"https://x.com/b/status/{n}")]}
    return {
        "submit_report": world.client.post(
            "/api/v1/reports",
            json=report_payload(f"R-{n}", content_url=f"https://x.com/r/{n}"),
            headers={**headers, "Idempotency-Key": f"r-{n}"},
        ),
        "submit_report_batch": world.client.post(
            "/api/v1/reports:batch", json=batch, headers={**headers, "Idempotency-Key": f"b-{n}"}
        ),
        "upload_evidence": world.client.post(
            "/api/v1/evidence",
            content=b"\x89PNG\r\n\x1a\n" + bytes([n]) * 8,
            headers={**headers, "Content-Type": "image/png"},
        ),
    }


def test_every_reporter_write_route_at_valid_until(world: World) -> None:
    at(world, VALID_UNTIL - TICK)
    headers = world.auth("APTIKA")
    assert {k: r.status_code for k, r in reporter_writes(world, headers, 1).items()} == {
        "submit_report": 201,
        "submit_report_batch": 201,
        "upload_evidence": 201,
    }
    at(world, VALID_UNTIL + TICK)
    late = reporter_writes(world, headers, 2)
    for name in ("submit_report", "submit_report_batch"):
        assert late[name].status_code == 403, name
        assert late[name].json()["type"] == "/problems/agreement-expired", name
    assert late["upload_evidence"].status_code == 201  # evidence for answers during the wind-down
    at(world, WIND_DOWN_END + TICK)
    after = reporter_writes(world, headers, 3)
    assert {name: r.status_code for name, r in after.items()} == {
        "submit_report": 401,
        "submit_report_batch": 401,
        "upload_evidence": 401,
    }  # the old token has expired
    assert token_status(world, "APTIKA", "reports:write") == 400


def test_reporter_can_answer_during_the_wind_down_not_after(world: World) -> None:
    at(world, VALID_UNTIL - timedelta(days=1))
    case_ids = [new_case(world, f"ANS-{n}")[0] for n in range(2)]
    kasn = world.auth("KASN")
    requests = []
    for case_id in case_ids:
        assert transition(world, case_id, kasn, "screening").status_code == 200
        tag = world.client.get(f"/api/v1/cases/{case_id}", headers=kasn).headers["etag"]
        requests.append(
            world.client.post(
                f"/api/v1/cases/{case_id}/information-requests",
                json={"question": "?"},
                headers={**kasn, "If-Match": tag},
            ).json()["id"]
        )
    at(world, WIND_DOWN_END - TICK)
    aptika = world.auth("APTIKA")
    answer = world.client.post(
        f"/api/v1/information-requests/{requests[0]}/answer", json={"note": "ok"}, headers=aptika
    )
    assert answer.status_code == 200
    at(world, WIND_DOWN_END + TICK)
    late = world.client.post(f"/api/v1/information-requests/{requests[1]}/answer", json={"note": "ok"}, headers=aptika)
    assert_refused(late)


def test_every_authority_write_route_at_wind_down_end(world: World) -> None:
    at(world, VALID_UNTIL - timedelta(days=2))
    cases = [new_case(world, f"W-{n}")[0] for n in range(2)]
    kasn = world.auth("KASN")
    for case_id in cases:
        for step in ("screening", "clarification", "assessment", "recommendation_issued"):
            assert transition(world, case_id, kasn, step).status_code == 200
    screening, _ = new_case(world, "W-info")
    assert transition(world, screening, kasn, "screening").status_code == 200

    def authority_writes(case_id: str, info_case: str, headers: dict[str, str]) -> dict[str, int]:
        tag = world.client.get(f"/api/v1/cases/{info_case}", headers=headers).headers.get("etag", '"?"')
        return {
            "transition_case": transition(world, case_id, headers, "sanction_reported").status_code,
            "record_sanction": world.client.post(
                f"/api/v1/cases/{case_id}/sanctions", json=SANCTION, headers=headers
            ).status_code,
            "request_information": world.client.post(
                f"/api/v1/cases/{info_case}/information-requests",
                json={"question": "?"},
                headers={**headers, "If-Match": tag},
            ).status_code,
        }

    at(world, WIND_DOWN_END - TICK)
    kasn = world.auth("KASN")
    assert authority_writes(cases[0], screening, kasn) == {
        "transition_case": 200,
        "record_sanction": 201,
        "request_information": 201,
    }
    at(world, WIND_DOWN_END + TICK)
    assert authority_writes(cases[1], screening, kasn) == {
        "transition_case": 403,
        "record_sanction": 403,
        "request_information": 403,
    }


def ask(world: World, case_id: str, headers: dict[str, str]) -> str:
    tag = world.client.get(f"/api/v1/cases/{case_id}", headers=headers).headers["etag"]
    response = world.client.post(
        f"/api/v1/cases/{case_id}/information-requests",
        json={"question": "Mohon tautan arsip?"},
        headers={**headers, "If-Match": tag},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_an_extended_regions_case_reaches_a_terminal_state_with_the_reporters_answer(world: World) -> None:
    """After the wind-down, a region extension keeps everything its cases need — the reporter's answer
    included — and nothing more: no new reports, nothing on other regions' cases."""
    at(world, VALID_UNTIL - timedelta(days=1))
    bandung, kasn = new_case(world, "PSU-A", region="32.73")
    jakarta, _ = new_case(world, "PSU-B", region="31.71")
    assert transition(world, jakarta, kasn, "screening").status_code == 200
    jakarta_question = ask(world, jakarta, kasn)
    agreement = world.db.exec(select(Agreement)).one()
    agreements.extend(
        world.db, agreement, region_code="32.73", valid_until=WIND_DOWN_END + timedelta(days=60), reason="PSU"
    )
    world.db.commit()

    at(world, WIND_DOWN_END + timedelta(days=1))
    kasn = world.auth("KASN")
    assert transition(world, bandung, kasn, "screening").status_code == 200
    bandung_question = ask(world, bandung, kasn)
    aptika = world.auth("APTIKA")
    listed = world.client.get("/api/v1/information-requests", headers=aptika).json()["items"]
    assert [q["id"] for q in listed] == [bandung_question]
    assert [r["case"]["id"] for r in world.client.get("/api/v1/reports", headers=aptika).json()["items"]] == [bandung]
    answer = world.client.post(
        f"/api/v1/information-requests/{bandung_question}/answer", json={"note": "terlampir"}, headers=aptika
    )
    assert answer.status_code == 200, answer.text
    assert world.client.get(f"/api/v1/cases/{bandung}", headers=kasn).json()["status"] == "screening"
    for step in ("clarification", "assessment", "not_proven", "closed"):
        assert transition(world, bandung, kasn, step).status_code == 200, step

    other = world.client.post(
        f"/api/v1/information-requests/{jakarta_question}/answer", json={"note": "x"}, headers=aptika
    )
    assert other.status_code == 404  # outside the extension the request no longer exists for the reporter
    assert_refused(push(world, report_payload("PSU-C", content_url="https://x.com/a/status/late")))
