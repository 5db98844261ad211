from typing import Any

from app.agencies.models import Role
from tests.builders import World, move, push, report_payload


def feed(world: World, headers: dict[str, str], after: str | None = None) -> Any:
    params = {"after": after} if after else {}
    return world.client.get("/api/v1/events", params=params, headers=headers)


class TestEvents:
    def test_kinds_in_commit_order_and_cursor_resumes(self, world: World) -> None:
        first = push(world, report_payload("E-1")).json()
        push(world, report_payload("E-2"))
        move(world, first["case"]["id"], "screening")
        headers = world.auth("BAWASLU")
        page = feed(world, headers).json()
        kinds = [e["kind"] for e in page["items"]]
        assert kinds == [
            "case.status_changed",
            "report.received",
            "report.received",
            "report.linked_to_case",
            "case.status_changed",
        ]
        assert [e["position"] for e in page["items"]] == [1, 2, 3, 4, 5]
        assert feed(world, headers, page["next_cursor"]).json()["items"] == []
        move(world, first["case"]["id"], "clarification")
        later = feed(world, headers, page["next_cursor"]).json()["items"]
        assert [(e["kind"], e["data"]["to_status"]) for e in later] == [("case.status_changed", "clarification")]

    def test_reporter_sees_only_its_cases_and_its_reports(self, world: World) -> None:
        world.add_agency("KOMDIGI", [Role.reporter])
        other = world.add_client("KOMDIGI", ["reports:read", "reports:write"])
        push(world, report_payload("MINE-1"))
        push(world, report_payload("THEIRS-1"), agency=f"KOMDIGI:{other.client_id}")  # joins the same case
        push(
            world,
            report_payload("THEIRS-2", content_url="https://x.com/other/status/9"),
            agency=f"KOMDIGI:{other.client_id}",
        )
        items = feed(world, world.auth("APTIKA")).json()["items"]
        mine = push(world, report_payload("MINE-1")).json()  # replayed: same id
        assert {e["report_id"] for e in items if e["report_id"]} == {mine["id"]}
        assert {e["case_id"] for e in items} == {mine["case"]["id"]}

    def test_bad_cursor_is_422(self, world: World) -> None:
        assert feed(world, world.auth("KASN"), "nonsense").status_code == 422
        assert feed(world, world.auth("KASN"), "WyJ4Il0").status_code == 422  # ["x"]

    def test_no_personal_data_in_events(self, world: World) -> None:
        push(world, report_payload(public_reporter={"name": "Siti Warga"}, source="public_complaint"))
        text = feed(world, world.auth("BAWASLU")).text
        assert "Budi" not in text and "198503152010011001" not in text and "Siti" not in text


class TestCataloguesAndStats:
    def test_catalogues_have_both_languages(self, world: World) -> None:
        violations = world.client.get("/api/v1/catalogues/violations", headers=world.auth("APTIKA")).json()
        engage = next(v for v in violations["items"] if v["code"] == "engage_campaign_account")
        assert engage["label_id"] == "Memberikan like, komentar, share, atau follow akun kampanye"
        assert engage["digital"] is True
        sanctions = world.client.get("/api/v1/catalogues/sanctions", headers=world.auth("KASN")).json()
        assert {s["track"] for s in sanctions["items"]} == {
            "discipline",
            "ethics",
            "criminal_referral",
            "administrative",
        }

    def test_stats_count_without_personal_data(self, world: World) -> None:
        push(world, report_payload("S-1"))
        push(world, report_payload("S-2", platform="tiktok", content_url="https://tiktok.com/@a/video/1"))
        response = world.client.get("/api/v1/stats", headers=world.auth("ITJEN"))
        assert response.status_code == 200
        body = response.json()
        assert body["cases_total"] == 2 and body["reports_total"] == 2
        assert body["cases_by_platform"] == {"facebook": 1, "tiktok": 1}
        assert body["cases_by_province"] == {"32": 2} and body["reports_by_agency"] == {"APTIKA": 2}
        assert "Budi" not in response.text
