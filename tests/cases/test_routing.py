"""Case routing: the custodian of a new case is the case-authority party of the reporter's agreement; none or
several is a configuration error the operator is told about, never a silent choice."""

from typing import Any

from tests.builders import World, push, report_payload

PKS = "PKS-2024-APTIKA-KASN"


def ambiguous(world: World, run: Any) -> None:
    assert run("agencies", "create", "BKN", "--name", "Badan Kepegawaian Negara", "--role", "case_authority")[0] == 0
    assert run("agreements", "add-party", PKS, "--agency", "BKN")[0] == 0


class TestRouting:
    def test_a_case_authority_outside_the_agreement_is_not_a_candidate(self, world: World, run: Any) -> None:
        assert run("agencies", "create", "BKN", "--name", "BKN", "--role", "case_authority")[0] == 0
        response = push(world, report_payload())
        assert response.status_code == 201
        case = world.client.get(f"/api/v1/cases/{response.json()['case']['id']}", headers=world.auth("KASN"))
        assert case.json()["custodian_agency"] == "KASN"

    def test_two_case_authorities_refuse_new_reports_and_tell_the_operator(self, world: World, run: Any) -> None:
        ambiguous(world, run)
        response = push(world, report_payload())
        assert response.status_code == 503
        assert response.json()["type"] == "/problems/routing-not-configured"
        assert "BKN, KASN" in response.json()["detail"]
        world.db.rollback()
        assert world.client.get("/api/v1/reports", headers=world.auth("APTIKA")).json()["items"] == []

        code, out = run("agreements", "show")
        assert code == 1
        assert f"routing problem: agreement {PKS}: several parties hold the case_authority role (BKN, KASN)" in out
        ready = world.client.get("/readyz").json()
        assert ready["status"] == "degraded" and "BKN, KASN" in ready["checks"]["routing"]

    def test_succession_resolves_it(self, world: World, run: Any) -> None:
        ambiguous(world, run)
        code, out = run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "BKN")
        assert code == 0, out
        assert push(world, report_payload()).status_code == 201
        assert run("agreements", "show")[0] == 0
        assert world.client.get("/readyz").json()["status"] == "ready"
