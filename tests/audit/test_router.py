"""The auditor's routes, a reporter's access log, and what an audit row may and may not hold."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.audit.models import AuditCheckpoint, AuditEvent, AuditObject
from app.audit.verify import verify
from tests.builders import PNG, World, push, report_payload
from tests.conftest import TEST_AUDIT_SIGNING_KEY, TEST_SECRET_KEY


def new_case(world: World, reference: str, **changes: Any) -> dict[str, Any]:
    response = push(world, report_payload(reference, content_url=f"https://x.com/r/{reference}", **changes))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def all_pages(world: World, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = world.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


class TestAuditorRoutes:
    def test_filters_and_cursor_walk(self, world: World) -> None:
        report = new_case(world, "F-1")
        case_id = report["case"]["id"]
        kasn, bawaslu, auditor = world.auth("KASN"), world.auth("BAWASLU"), world.auth("ITJEN")
        world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
        world.client.get("/api/v1/cases", headers=bawaslu)
        world.client.get("/api/v1/cases")  # refused, anonymous: counted in a summary row
        world.sealed()

        every = all_pages(world, "/api/v1/audit/events", auditor, limit=3)
        assert [e["seq"] for e in every] == list(range(1, len(every) + 1))  # no gap, no repeat across pages
        assert verify(every).ok  # the API's rows are the hashed rows, `at` included

        def only(**params: Any) -> list[dict[str, Any]]:
            return all_pages(world, "/api/v1/audit/events", auditor, **params)

        assert {e["agency"] for e in only(agency="BAWASLU")} == {"BAWASLU"}
        refused = only(outcome="refused")
        assert [(e["action"], e["status"], e["agency"]) for e in refused] == [("refused:unauthenticated", 401, None)]
        assert refused[0]["object_ids"]["count"] == "1" and refused[0]["client_ip"] == "testclient"
        touching = only(object_id=case_id)
        assert [e["action"] for e in touching] == ["submit_report", "get_case", "list_cases"]
        assert [e["agency"] for e in only(action="get_case")] == ["KASN"]
        client = world.clients["KASN"].client_id
        assert {e["client_id"] for e in only(client_id=client)} == {client}
        in_window = only(since="2024-06-03T09:00:00Z", until="2024-06-03T09:00:00.000001Z")
        assert in_window[: len(every)] == every  # the auditor's own queries follow, also on record
        assert only(since="2024-06-03T09:00:00.000001Z") == []

    def test_bad_cursor_and_filters_are_problems(self, world: World) -> None:
        auditor = world.auth("ITJEN")
        for params in ({"cursor": "bm90LWEtY3Vyc29y"}, {"outcome": "maybe"}, {"limit": 0}, {"since": "yesterday"}):
            response = world.client.get("/api/v1/audit/events", params=params, headers=auditor)
            assert response.status_code == 422, params
            assert response.headers["content-type"] == "application/problem+json"

    def test_export_ranges_are_contiguous_and_verifiable(self, world: World) -> None:
        for n in range(3):
            new_case(world, f"E-{n}")
        auditor = world.auth("ITJEN")
        whole = world.client.get("/api/v1/audit/events:export", headers=auditor)
        assert whole.status_code == 200 and whole.headers["content-type"].startswith("application/jsonl")
        rows = [json.loads(line) for line in whole.text.splitlines()]
        assert verify(rows).ok and rows[0]["seq"] == 1
        middle = world.client.get("/api/v1/audit/events:export?from_seq=3&to_seq=5", headers=auditor)
        part = [json.loads(line) for line in middle.text.splitlines()]
        assert [r["seq"] for r in part] == [3, 4, 5] and verify(part, full=False).ok
        assert part == rows[2:5]
        empty = world.client.get("/api/v1/audit/events:export?since=2030-01-01T00:00:00Z", headers=auditor)
        assert empty.status_code == 200 and empty.text == ""

    def test_checkpoints_and_public_key(self, world: World, run: Any) -> None:
        auditor = world.auth("ITJEN")
        assert world.client.get("/api/v1/audit/checkpoints", headers=auditor).json()["items"] == []
        run("audit", "checkpoint")
        run("audit", "checkpoint")
        page = world.client.get("/api/v1/audit/checkpoints?limit=1", headers=auditor).json()
        assert [c["id"] for c in page["items"]] == [1] and page["next_cursor"]
        rest = world.client.get(f"/api/v1/audit/checkpoints?cursor={page['next_cursor']}", headers=auditor).json()
        assert [c["id"] for c in rest["items"]] == [2] and rest["items"][0]["prev_checkpoint_hash"] == page["items"][0][
            "hash"
        ]
        key = world.client.get("/api/v1/audit/public-key", headers=auditor).json()
        assert key["algorithm"] == "Ed25519" and key["jwk"]["crv"] == "Ed25519"
        assert page["items"][0]["key_id"] == key["key_id"]

    def test_public_key_is_404_without_a_configured_key(self, world: World) -> None:
        runtime = world.client.app.state.runtime.get()  # type: ignore[attr-defined]
        runtime.settings = runtime.settings.model_copy(update={"audit_signing_key": None})
        response = world.client.get("/api/v1/audit/public-key", headers=world.auth("ITJEN"))
        assert response.status_code == 404 and response.json()["type"] == "/problems/not-found"


class TestReportAccessLog:
    def test_reporter_sees_who_used_what_it_shared(self, world: World) -> None:
        report = new_case(world, "L-1")
        other = new_case(world, "L-2")
        case_id, report_id = report["case"]["id"], report["id"]
        world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN"))
        world.client.get("/api/v1/cases", headers=world.auth("BAWASLU"))
        world.client.get(f"/api/v1/cases/{other['case']['id']}", headers=world.auth("KASN"))  # not this report's
        aptika = world.auth("APTIKA")
        log = world.client.get(f"/api/v1/reports/{report_id}/access-log", headers=aptika)
        assert log.status_code == 200
        seen = [(e["agency"], e["action"], e["outcome"]) for e in log.json()["items"]]
        assert seen == [
            ("APTIKA", "submit_report", "allowed"),
            ("KASN", "get_case", "allowed"),
            ("BAWASLU", "list_cases", "allowed"),
        ]
        assert set(log.json()["items"][0]) == {"seq", "at", "agency", "client_id", "action", "outcome", "status"}

    def test_another_reporters_report_is_not_found(self, world: World) -> None:
        from app.agencies.models import Role

        report = new_case(world, "L-3")
        world.add_agency("DISKOMINFO", [Role.reporter])
        other = world.add_client("DISKOMINFO", ["reports:read"])
        token = world.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(other.client_id, other.secret or "")
        ).json()["access_token"]
        response = world.client.get(
            f"/api/v1/reports/{report['id']}/access-log", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 404


class TestClientAddress:
    @pytest.mark.parametrize(
        ("trusted", "peer", "forwarded", "expected"),
        [
            ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxies configured: header ignored
            (["10.0.0.0/8"], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # peer is not a proxy: ignored
            (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
            (["10.0.0.0/8"], "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.7", "198.51.100.1"),  # spoofed left part
            (["10.0.0.0/8"], "10.0.0.2", "not-an-ip, 10.0.0.7", "10.0.0.7"),
        ],
    )
    def test_forwarded_for_is_believed_only_from_trusted_proxies(
        self, world: World, trusted: list[str], peer: str, forwarded: str, expected: str
    ) -> None:
        runtime = world.client.app.state.runtime.get()  # type: ignore[attr-defined]
        runtime.settings = runtime.settings.model_copy(update={"trusted_proxies": trusted})
        client = TestClient(world.client.app, client=(peer, 4000))
        client.get("/api/v1/catalogues/violations", headers={"X-Forwarded-For": forwarded})
        world.sealed()  # an anonymous refusal: its window's summary row names the source
        last = world.db.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert last is not None and last.client_ip == expected


def test_no_token_secret_or_report_content_in_the_audit_tables_or_export(world: World, run: Any) -> None:
    payload = report_payload(
        "SCAN-1",
        content_url="https://www.instagram.com/p/unique-scan-post",
        excerpt="Kalimat kampanye yang sangat khas 7781",
        source="public_complaint",
        public_reporter={"name": "Warga Pelapor Unik", "contact": "0812-5555-0199"},
    )
    kasn_token = world.token("KASN")
    aptika_token = world.token("APTIKA")
    evidence = world.client.post(
        "/api/v1/evidence",
        content=PNG,
        headers={"Authorization": f"Bearer {aptika_token}", "Content-Type": "image/png"},
    )
    created = world.client.post(
        "/api/v1/reports",
        json={**payload, "evidence": [{"sha256": evidence.json()["sha256"], "kind": "screenshot"}]},
        headers={"Authorization": f"Bearer {aptika_token}", "Idempotency-Key": "scan"},
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["case"]["id"]
    kasn = {"Authorization": f"Bearer {kasn_token}"}
    world.client.get(f"/api/v1/cases/{case_id}", headers=kasn)
    world.client.get(f"/api/v1/cases/{case_id}/reports/{created.json()['id']}/reporter-identity", headers=kasn)
    world.client.get(f"/api/v1/cases?nip={payload['asn']['nip']}", headers=kasn)
    world.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("x", "wrong-secret-77"))
    run("audit", "checkpoint")
    world.db.rollback()
    dump = json.dumps(
        [
            [r.model_dump(mode="json") for r in world.db.exec(select(table))]
            for table in (AuditEvent, AuditObject, AuditCheckpoint)
        ]
    )
    dump += world.client.get("/api/v1/audit/events:export", headers=world.auth("ITJEN")).text
    secrets = [
        kasn_token,
        aptika_token,
        kasn_token.split(".")[2],
        TEST_SECRET_KEY,
        TEST_AUDIT_SIGNING_KEY,
        "wrong-secret-77",
    ]
    secrets += [c.secret or "" for c in world.clients.values()]
    content = [
        payload["asn"]["name"],
        payload["asn"]["nip"],
        payload["asn"]["jabatan"],
        "unique-scan-post",
        "khas 7781",  # not "7781" alone: four hex digits turn up by chance in the dump's hashes and ids
        "Warga Pelapor Unik",
        "0812-5555-0199",
        "Kalimat kampanye",
    ]
    found = [s for s in secrets + content if s and s in dump]
    assert found == []
    assert '"read_reporter_identity"' in dump  # the decryption itself is on record, by reference
