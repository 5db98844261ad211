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
