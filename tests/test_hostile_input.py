"""Hostile and malformed input (issue #11): each answers a clear 4xx problem, never a 5xx, and changes
nothing; every response carries the security headers, the 500 one included."""

import base64
import hashlib
import json
from typing import Any

import pytest
from fastapi import APIRouter
from sqlmodel import col, func, select

from app.audit.models import AuditEvent
from app.reports.models import Report
from tests.auth.forge import encode_unsigned
from tests.builders import PNG, World, push, report_payload


def reports_stored(world: World) -> int:
    world.db.rollback()
    return int(world.db.exec(select(func.count()).select_from(Report)).one())


def audit_rows_of(world: World, request_id: str) -> list[AuditEvent]:
    world.db.rollback()
    return list(world.db.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)).all())


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


class TestTextPostgreSQLCannotStore:
    @pytest.mark.parametrize(
        ("change", "pointer"),
        [
            ({"excerpt": "dukung\x00paslon"}, "/body/excerpt"),
            ({"reference": "APT\x001"}, "/body/reference"),
            ({"content_url": "https://x.com/a\x00b"}, "/body/content_url"),
            ({"asn": {**report_payload()["asn"], "name": "Budi\x00"}}, "/body/asn/name"),
            ({"public_reporter": {"name": "Siti\x00"}, "source": "public_complaint"}, "/body/public_reporter/name"),
        ],
    )
    def test_nul_is_refused_with_its_field(self, world: World, change: dict[str, Any], pointer: str) -> None:
        response = push(world, report_payload(**change))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert pointer in [e["pointer"] for e in response.json()["errors"]]
        assert reports_stored(world) == 0


class TestNulInFiltersAndCredentials:
    """A NUL in a query filter or in client credentials is refused as input; it never reaches PostgreSQL,
    whose text cannot hold it (found by a longer fuzz run: the cases' custodian filter answered 500)."""

    @pytest.mark.parametrize(
        ("path", "name", "agency"),
        [
            ("/api/v1/cases", "custodian", "KASN"),
            ("/api/v1/audit/events", "agency", "ITJEN"),
            ("/api/v1/audit/events", "client_id", "ITJEN"),
            ("/api/v1/audit/events", "action", "ITJEN"),
            ("/api/v1/audit/events", "object_id", "ITJEN"),
        ],
    )
    @pytest.mark.parametrize("value", ["\x00R", "KA\x00SN", "\x1b[2J"])
    def test_a_control_character_in_a_filter_is_invalid(
        self, world: World, path: str, name: str, agency: str, value: str
    ) -> None:
        response = world.client.get(path, params={name: value}, headers=world.auth(agency))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in response.json()["errors"]] == [f"/query/{name}"]

    def test_printable_filters_still_match(self, world: World) -> None:
        response = world.client.get("/api/v1/cases", params={"custodian": "kasn"}, headers=world.auth("KASN"))
        assert response.status_code == 200
        response = world.client.get(
            "/api/v1/audit/events", params={"action": "GET /no such/path"}, headers=world.auth("ITJEN")
        )
        assert response.status_code == 200

    def test_a_nul_in_the_form_client_id(self, world: World) -> None:
        seeded = world.clients["KASN"]
        response = world.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": seeded.client_id + "\x00", "client_secret": "x"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"

    def test_a_nul_in_basic_credentials(self, world: World) -> None:
        seeded = world.clients["KASN"]
        basic = base64.b64encode(f"{seeded.client_id}\x00:{seeded.secret}".encode()).decode()
        response = world.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"

    @pytest.mark.parametrize("kid", ["k\x00id", "\x00"])
    def test_a_nul_in_a_bearer_tokens_key_id(self, world: World, kid: str) -> None:
        token = encode_unsigned({"alg": "RS256", "typ": "at+jwt", "kid": kid}, {"sub": "x"}) + ".c2ln"
        response = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert response.json()["type"] == "/problems/invalid-token"

    @pytest.mark.parametrize(
        ("header", "claims"),
        [
            ({"alg": "RS256", "kid": "k\x00"}, {"iss": "kasn", "sub": "kasn"}),
            ({"alg": "RS256"}, {"iss": "kasn\x00", "sub": "kasn\x00"}),
        ],
    )
    def test_a_nul_in_a_client_assertion(self, world: World, header: dict[str, Any], claims: dict[str, Any]) -> None:
        assertion = encode_unsigned(header, claims) + ".c2ln"
        response = world.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"

    def test_a_nul_in_a_revoked_token(self, world: World) -> None:
        seeded = world.clients["KASN"]
        response = world.client.post(
            "/oauth/revoke", data={"token": "abc\x00def"}, auth=(seeded.client_id, seeded.secret or "")
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"


class TestControlCharactersInTheAuditRow:
    """A request past authentication leaves its one audit row whatever its path holds: a NUL in a path
    parameter or an unrouted path once made PostgreSQL refuse the row, and the refusal went unrecorded."""

    @pytest.mark.parametrize(
        ("path", "status", "named"),
        [
            ("/api/v1/cases/%00", 422, {"case_id": "%00"}),
            ("/api/v1/cases/x%00y/history", 422, {"case_id": "x%00y"}),
            ("/api/v1/cases/%1B%5B2J", 422, {"case_id": "%1B[2J"}),
            ("/api/v1/cases/50%25", 422, {"case_id": "50%25"}),
            ("/api/v1/reports/%00/access-log", 403, {"report_id": "%00"}),
        ],
    )
    def test_a_path_parameter(self, world: World, path: str, status: int, named: dict[str, str]) -> None:
        response = world.client.get(path, headers=world.auth("KASN"))
        assert response.status_code == status
        rows = audit_rows_of(world, response.headers["X-Request-ID"])
        assert [(r.status, r.object_ids) for r in rows] == [(status, named)]

    def test_an_unrouted_path(self, world: World) -> None:
        response = world.client.get("/api/v1/x%00y", headers=world.auth("KASN"))
        assert response.status_code == 404
        rows = audit_rows_of(world, response.headers["X-Request-ID"])
        assert [(r.status, r.action) for r in rows] == [(404, "GET /api/v1/x%00y")]


class TestOutOfRange:
    def test_captured_at_that_overflows_in_utc(self, world: World) -> None:
        response = push(world, report_payload(captured_at="9999-12-31T23:59:59-23:59"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/captured_at"

    @pytest.mark.parametrize("value", [2**64, 2**63, -1, 1.5, "7", True])
    @pytest.mark.parametrize(
        ("path", "name", "agency"),
        [
            ("/api/v1/events", "after", "KASN"),
            ("/api/v1/audit/events", "cursor", "ITJEN"),
        ],
    )
    def test_cursors_beyond_64_bits_or_not_integers(
        self, world: World, path: str, name: str, agency: str, value: Any
    ) -> None:
        response = world.client.get(path, params={name: cursor_of([value])}, headers=world.auth(agency))
        assert response.status_code == 422, response.text
        assert response.json()["type"] == "/problems/validation-error"

    def test_access_log_cursor(self, world: World) -> None:
        report_id = push(world, report_payload()).json()["id"]
        response = world.client.get(
            f"/api/v1/reports/{report_id}/access-log",
            params={"cursor": cursor_of([2**64])},
            headers=world.auth("APTIKA"),
        )
        assert response.status_code == 422

    @pytest.mark.parametrize("at", ["2024-06-03T09:00:00", "9999-12-31T23:59:59-23:59"])
    def test_time_cursors_naive_or_overflowing(self, world: World, at: str) -> None:
        cursor = cursor_of([at, "00000000-0000-0000-0000-000000000000"])
        response = world.client.get("/api/v1/cases", params={"cursor": cursor}, headers=world.auth("KASN"))
        assert response.status_code == 422

    @pytest.mark.parametrize("value", ["2024-06-03T09:00:00", "9999-12-31T23:59:59-23:59"])
    def test_time_filters_naive_or_overflowing(self, world: World, value: str) -> None:
        response = world.client.get("/api/v1/cases", params={"opened_from": value}, headers=world.auth("KASN"))
        assert response.status_code == 422
        response = world.client.get("/api/v1/audit/events", params={"since": value}, headers=world.auth("ITJEN"))
        assert response.status_code == 422


class TestMalformed:
    def test_a_kid_that_is_a_json_object(self, world: World) -> None:
        token = encode_unsigned({"alg": "RS256", "typ": "at+jwt", "kid": {"$ne": 1}}, {"sub": "x"}) + ".c2ln"
        response = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/invalid-token"

    def test_a_body_that_is_not_utf8(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "latin", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports", content=b'{"reference": "\xff\xfe"}', headers=headers)
        assert 400 <= response.status_code < 500
        assert response.json()["type"] in ("/problems/validation-error", "/problems/bad-request")

    @pytest.mark.parametrize(
        "url",
        ["https://www.face book.com/x", "https://x.com/a%zzb", "https://x.com/a%2", "https://exa_mple.com/x"],
    )
    def test_loose_urls_are_refused(self, world: World, url: str) -> None:
        response = push(world, report_payload(content_url=url))
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/content_url"

    def test_a_nip_in_fullwidth_digits(self, world: World) -> None:
        fullwidth = "".join(chr(0xFF10 + int(d)) for d in "198503152010011001")
        response = push(world, report_payload(asn={**report_payload()["asn"], "nip": fullwidth}))
        assert response.status_code == 422
        assert "ASCII digits" in response.json()["errors"][0]["detail"]


class TestRepeatedMemberNames:
    """I-JSON (RFC 7493): an object that names a member twice is refused, not read as its last occurrence."""

    def refused(self, world: World, response: Any, pointer: str, name: str) -> None:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == "/problems/validation-error"
        assert [e["pointer"] for e in problem["errors"]] == [pointer]
        assert repr(name) in problem["errors"][0]["detail"]
        rows = audit_rows_of(world, response.headers["X-Request-ID"])
        assert [(r.status, r.outcome) for r in rows] == [(422, "refused")]

    @pytest.mark.parametrize(
        ("edit", "pointer", "name"),
        [
            (lambda body: '{"reference": "FIRST", ' + body[1:], "/body/reference", "reference"),
            (lambda body: body.replace('"asn": {', '"asn": {"nip": "199001012020121001", ', 1), "/body/asn/nip", "nip"),
        ],
    )
    def test_a_report(self, world: World, edit: Any, pointer: str, name: str) -> None:
        body = edit(json.dumps(report_payload("SECOND")))
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "twice", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports", content=body.encode(), headers=headers)
        self.refused(world, response, pointer, name)
        world.db.rollback()
        assert world.db.exec(select(func.count()).select_from(Report)).one() == 0

    def test_an_item_of_a_batch(self, world: World) -> None:
        items = [report_payload("B-1"), report_payload("B-2", content_url="https://x.com/b/status/2")]
        body = json.dumps({"items": items}).replace('"reference": "B-2"', '"reference": "B-2", "reference": "B-3"')
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-twice", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports:batch", content=body.encode(), headers=headers)
        self.refused(world, response, "/body/items/1/reference", "reference")
        world.db.rollback()
        assert world.db.exec(select(func.count()).select_from(Report)).one() == 0

    def test_a_transition(self, world: World) -> None:
        case_id = push(world, report_payload()).json()["case"]["id"]
        headers = {**world.auth("KASN"), "If-Match": f'"{case_id}.1"', "Content-Type": "application/json"}
        body = b'{"to": "screening", "reason": "per procedure", "to": "dismissed"}'
        response = world.client.post(f"/api/v1/cases/{case_id}/transitions", content=body, headers=headers)
        self.refused(world, response, "/body/to", "to")
        case = world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN"))
        assert (case.json()["status"], case.headers["ETag"]) == ("submitted", f'"{case_id}.1"')

    def test_equal_names_in_different_objects_are_fine(self, world: World) -> None:
        items = [report_payload("S-1"), report_payload("S-2", content_url="https://x.com/s/status/2")]
        body = json.dumps({"items": items})  # "reference", "asn", "name", ... once in each item
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "siblings", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports:batch", content=body.encode(), headers=headers)
        assert response.status_code == 201, response.text
        world.db.rollback()
        assert world.db.exec(select(func.count()).select_from(Report)).one() == 2

    @pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000, b'{"a": ' * 100_000 + b"1" + b"}" * 100_000])
    def test_nesting_too_deep_to_read_is_a_bad_request(self, world: World, body: bytes) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "deep", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "/problems/bad-request"

    def test_a_repeated_name_deep_down_is_found(self, world: World) -> None:
        depth = 500
        body = '{"items": ' + '{"x": ' * depth + '{"a": 1, "a": 2}' + "}" * depth + "}"
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "deep-twice", "Content-Type": "application/json"}
        response = world.client.post("/api/v1/reports:batch", content=body.encode(), headers=headers)
        self.refused(world, response, "/body/items" + "/x" * depth + "/a", "a")


class TestAccountedFor:
    def test_an_unknown_path_of_any_length_leaves_a_row(self, world: World) -> None:
        path = "/api/v1/" + "x" * 5000
        response = world.client.get(path)
        assert response.status_code == 404
        world.sealed()
        row = world.db.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert row is not None and row.status == 404 and row.action.startswith("GET /api/v1/xxx")
        assert len(row.action) <= 200

    def test_the_evidence_upload_row_has_its_body_hash(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Content-Type": "image/png"}
        assert world.client.post("/api/v1/evidence", content=PNG, headers=headers).status_code == 201
        world.sealed()
        row = world.db.exec(select(AuditEvent).where(AuditEvent.action == "upload_evidence")).one()
        assert row.body_sha256 == hashlib.sha256(PNG).hexdigest()


class TestHeaders:
    def assert_security_headers(self, response: Any) -> None:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-request-id"]

    def test_personal_data_is_never_cached(self, world: World) -> None:
        case_id = push(world, report_payload()).json()["case"]["id"]
        for response in (
            world.client.get("/api/v1/reports", headers=world.auth("APTIKA")),
            world.client.get(f"/api/v1/cases/{case_id}", headers=world.auth("KASN")),
            world.client.get("/api/v1/cases/x", headers=world.auth("KASN")),
            world.client.post("/oauth/token", data={"grant_type": "client_credentials"}),
        ):
            assert response.headers["cache-control"] == "no-store"
            self.assert_security_headers(response)
        assert "strict-transport-security" not in response.headers

    def test_the_500_answer_carries_them_too(self, world: World) -> None:
        router = APIRouter()

        @router.get("/test/boom")
        def boom() -> None:
            raise RuntimeError("boom")

        world.client.app.include_router(router)  # type: ignore[attr-defined]
        response = world.client.get("/test/boom")
        assert response.status_code == 500
        assert response.json()["type"] == "/problems/internal-error"
        self.assert_security_headers(response)
        assert response.headers["x-request-id"] == response.json()["request_id"]
