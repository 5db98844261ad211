import socket
from typing import Any

import pytest
from sqlmodel import func, select

from app.cases.models import CaseFile
from app.reports.models import Report
from tests.builders import PNG, World, push, report_payload


def count(world: World, model: Any) -> int:
    world.db.rollback()
    return int(world.db.exec(select(func.count()).select_from(model)).one())


class TestSubmitReport:
    def test_anonymous_is_401(self, world: World) -> None:
        response = world.client.post("/api/v1/reports", json=report_payload(), headers={"Idempotency-Key": "k"})
        assert response.status_code == 401

    def test_observer_is_403(self, world: World) -> None:
        response = push(world, report_payload(), agency="BAWASLU")
        assert response.status_code == 403

    def test_creates_report_and_case_with_normalised_url(self, world: World) -> None:
        response = push(world, report_payload())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["content_url"] == "https://www.facebook.com/budi.santoso/posts/123"
        assert body["case"]["status"] == "submitted"
        assert body["case"]["joined_existing_case"] is False
        assert count(world, Report) == 1 and count(world, CaseFile) == 1

    def test_same_asn_and_url_joins_the_existing_case(self, world: World) -> None:
        first = push(world, report_payload("A-1")).json()
        second = push(world, report_payload("A-2", content_url="HTTPS://WWW.FACEBOOK.COM/budi.santoso/posts/123#x"))
        assert second.status_code == 201
        assert second.json()["case"]["id"] == first["case"]["id"]
        assert second.json()["case"]["joined_existing_case"] is True
        assert count(world, CaseFile) == 1 and count(world, Report) == 2

    def test_idempotent_retry_returns_first_response(self, world: World) -> None:
        first = push(world, report_payload(), key="same")
        retry = push(world, report_payload(), key="same")
        assert retry.status_code == 201 and retry.json() == first.json()
        assert retry.headers["idempotent-replayed"] == "true"
        assert count(world, Report) == 1

    def test_same_key_other_body_is_422(self, world: World) -> None:
        push(world, report_payload(), key="same")
        response = push(world, report_payload(excerpt="changed"), key="same")
        assert response.status_code == 422
        assert response.json()["type"] == "/problems/idempotency-key-reused"
        assert count(world, Report) == 1

    def test_missing_idempotency_key_is_422(self, world: World) -> None:
        response = world.client.post("/api/v1/reports", json=report_payload(), headers=world.auth("APTIKA"))
        assert response.status_code == 422
        assert any(e["pointer"] == "/header/Idempotency-Key" for e in response.json()["errors"])

    def test_reference_reused_is_409(self, world: World) -> None:
        push(world, report_payload(), key="one")
        response = push(world, report_payload(excerpt="other"), key="two")
        assert response.status_code == 409
        assert count(world, Report) == 1

    @pytest.mark.parametrize(
        ("change", "pointer"),
        [
            ({"content_url": "ftp://example.com/x"}, "/body/content_url"),
            ({"content_url": "not a url"}, "/body/content_url"),
            ({"platform": "myspace"}, "/body/platform"),
            ({"category": "jaywalking"}, "/body/category"),
            ({"category": "engage_campaign_account"}, "/body"),
            ({"unknown_field": 1}, "/body/unknown_field"),
            ({"excerpt": "x" * 4001}, "/body/excerpt"),
            ({"captured_at": "2024-06-01T10:00:00"}, "/body/captured_at"),
        ],
    )
    def test_invalid_fields_are_422_with_pointers_and_change_nothing(
        self, world: World, change: dict[str, Any], pointer: str
    ) -> None:
        response = push(world, report_payload(**change))
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert any(e["pointer"].startswith(pointer) for e in response.json()["errors"]), response.json()
        assert count(world, Report) == 0 and count(world, CaseFile) == 0

    @pytest.mark.parametrize(
        "nip",
        [
            "19850315201001100",  # 17 digits
            "198513152010011001",  # month 13 in birth date
            "198503152010131001",  # appointment month 13
            "198503152010013001",  # gender digit 3
            "198503152010011000",  # sequence 000
            "198503151990011001",  # appointed before age 15
        ],
    )
    def test_nip_structure(self, world: World, nip: str) -> None:
        payload = report_payload()
        payload["asn"]["nip"] = nip
        response = push(world, payload)
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"].startswith("/body/asn/nip")

    @pytest.mark.parametrize("region", ["3", "32.7", "99.01", "32-73", "32.73.01.1"])
    def test_region_code_format(self, world: World, region: str) -> None:
        payload = report_payload()
        payload["asn"]["region_code"] = region
        assert push(world, payload).status_code == 422

    def test_url_to_internal_address_causes_no_outbound_connection(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        token = world.auth("APTIKA")  # obtain the token before connections are watched
        attempts: list[Any] = []
        real_connect = socket.socket.connect

        def watch(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
            return real_connect(sock, address)

        monkeypatch.setattr(socket.socket, "connect", watch)
        monkeypatch.setattr(
            socket, "create_connection", lambda *a, **k: attempts.append(a) or (_ for _ in ()).throw(OSError())
        )
        for n, url in enumerate(["http://127.0.0.1:8080/admin", "http://169.254.169.254/latest/meta-data/"]):
            response = world.client.post(
                "/api/v1/reports",
                json=report_payload(f"SSRF-{n}", content_url=url),
                headers={**token, "Idempotency-Key": f"ssrf-{n}"},
            )
            assert response.status_code == 201
        if world.settings.is_sqlite:
            assert attempts == []
        else:  # PostgreSQL itself is reached over 127.0.0.1:5432; nothing else may be
            assert all(a[1] == 5432 for a in attempts if isinstance(a, tuple)), attempts

    def test_public_reporter_identity_is_sealed_at_rest(self, world: World) -> None:
        payload = report_payload(
            source="public_complaint", public_reporter={"name": "Siti Warga", "contact": "siti@example.org"}
        )
        response = push(world, payload)
        assert response.status_code == 201 and response.json()["has_public_reporter"] is True
        world.db.rollback()
        stored = world.db.exec(select(Report)).one()
        assert "Siti" not in (stored.reporter_identity_sealed or "")
        assert "Siti" not in response.text


class TestBatch:
    def test_all_or_nothing_with_index_pointers(self, world: World) -> None:
        bad = report_payload("B-2")
        bad["asn"]["nip"] = "123"
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-1"}
        response = world.client.post(
            "/api/v1/reports:batch", json={"items": [report_payload("B-1"), bad]}, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"].startswith("/body/items/1/asn/nip")
        assert count(world, Report) == 0

    def test_duplicate_reference_inside_batch(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-2"}
        items = [report_payload("B-1"), report_payload("B-1", content_url="https://x.com/a/status/1")]
        response = world.client.post("/api/v1/reports:batch", json={"items": items}, headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/items/1/reference"
        assert count(world, Report) == 0

    def test_batch_creates_all(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-3"}
        items = [report_payload(f"B-{n}", content_url=f"https://x.com/a/status/{n}") for n in range(5)]
        response = world.client.post("/api/v1/reports:batch", json={"items": items}, headers=headers)
        assert response.status_code == 201
        assert [i["reference"] for i in response.json()["items"]] == [f"B-{n}" for n in range(5)]
        assert count(world, Report) == 5 and count(world, CaseFile) == 5

    def test_over_the_limit_is_422(self, world: World) -> None:
        headers = {**world.auth("APTIKA"), "Idempotency-Key": "batch-4"}
        items = [report_payload(f"B-{n}") for n in range(world.settings.batch_max_items + 1)]
        assert world.client.post("/api/v1/reports:batch", json={"items": items}, headers=headers).status_code == 422


class TestReadReports:
    def test_reporter_reads_own_reports_only(self, world: World) -> None:
        from app.agencies.models import Role

        mine = push(world, report_payload()).json()
        world.add_agency("KOMDIGI", [Role.reporter])
        other = world.add_client("KOMDIGI", ["reports:read", "reports:write"])
        other_headers = world.auth(f"KOMDIGI:{other.client_id}")
        assert world.client.get(f"/api/v1/reports/{mine['id']}", headers=other_headers).status_code == 404
        assert world.client.get("/api/v1/reports", headers=other_headers).json()["items"] == []
        own = world.client.get(f"/api/v1/reports/{mine['id']}", headers=world.auth("APTIKA"))
        assert own.status_code == 200 and own.json()["reference"] == "APT-0001"

    def test_keyset_pagination(self, world: World) -> None:
        for n in range(5):
            push(world, report_payload(f"P-{n}", content_url=f"https://x.com/a/status/{n}"))
            world.clock.advance(seconds=1)
        headers = world.auth("APTIKA")
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = world.client.get("/api/v1/reports", params=params, headers=headers).json()
            seen += [i["reference"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [f"P-{n}" for n in range(5)]

    def test_bad_cursor_is_422(self, world: World) -> None:
        response = world.client.get("/api/v1/reports", params={"cursor": "garbage"}, headers=world.auth("APTIKA"))
        assert response.status_code == 422


class TestEvidence:
    def upload(self, world: World, data: bytes = PNG, media_type: str = "image/png", agency: str = "APTIKA") -> Any:
        return world.client.post(
            "/api/v1/evidence", content=data, headers={**world.auth(agency), "Content-Type": media_type}
        )

    def test_upload_reference_and_download(self, world: World) -> None:
        stored = self.upload(world)
        assert stored.status_code == 201
        sha = stored.json()["sha256"]
        response = push(world, report_payload(evidence=[{"sha256": sha, "kind": "screenshot"}]))
        assert response.status_code == 201
        assert response.json()["evidence"][0]["sha256"] == sha
        download = world.client.get(f"/api/v1/evidence/{sha}", headers=world.auth("KASN"))
        assert download.status_code == 200 and download.content == PNG
        assert world.client.get(f"/api/v1/evidence/{sha}", headers=world.auth("BAWASLU")).status_code == 404

    def test_tampered_file_is_refused(self, world: World) -> None:
        from app.evidence.service import path_for

        sha = self.upload(world).json()["sha256"]
        path_for(world.settings, sha).write_bytes(PNG + b"altered")
        response = world.client.get(f"/api/v1/evidence/{sha}", headers=world.auth("APTIKA"))
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/evidence-tampered"

    def test_type_and_size_limits(self, world: World) -> None:
        assert self.upload(world, b"MZ\x90\x00", "application/x-msdownload").status_code == 415
        assert self.upload(world, b"not a png at all", "image/png").status_code == 415
        big = PNG + b"\x00" * world.settings.evidence_max_bytes
        assert self.upload(world, big).status_code == 413

    def test_unknown_evidence_hash_is_422(self, world: World) -> None:
        response = push(world, report_payload(evidence=[{"sha256": "a" * 64, "kind": "screenshot"}]))
        assert response.status_code == 422
        assert response.json()["errors"][0]["pointer"] == "/body/evidence/0/sha256"
