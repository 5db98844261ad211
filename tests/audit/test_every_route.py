"""Table-driven over the app's routes: every route, called once as allowed and once as refused, leaves
exactly one audit row with that outcome and status. A route added without a row here fails the first test."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import col, func, select

from app.audit.models import AuditEvent
from app.main import create_app
from tests.builders import PNG, World, move, push, report_payload

ROUTES = sorted(
    (method.upper(), path) for path, operations in create_app().openapi()["paths"].items() for method in operations
)
UNAUDITED = {("GET", "/healthz"), ("GET", "/readyz")}  # load-balancer probes: no row, by design


@dataclass
class Scene:
    """A case with a public reporter's report, reaching ``recommendation_issued``, an open information
    request on a second case, evidence, and a token per agency."""

    world: World
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def h(self, agency: str, **extra: str) -> dict[str, str]:
        return {**self.headers[agency], **extra}


@pytest.fixture
def scene(world: World) -> Scene:
    s = Scene(world, {a: world.auth(a) for a in ("APTIKA", "KASN", "BAWASLU", "ITJEN")})
    upload = world.client.post("/api/v1/evidence", content=PNG, headers=s.h("APTIKA", **{"Content-Type": "image/png"}))
    s.ids["sha256"] = upload.json()["sha256"]
    evidence = [{"sha256": s.ids["sha256"], "kind": "screenshot"}]
    payload = report_payload("R-1", source="public_complaint", public_reporter={"name": "Warga"}, evidence=evidence)
    first = push(world, {**payload, "content_url": "https://x.com/1"}).json()
    s.ids.update(case=first["case"]["id"], report=first["id"])
    second = push(world, report_payload("R-2", content_url="https://x.com/2")).json()
    s.ids["case2"] = second["case"]["id"]
    move(world, s.ids["case2"], "screening")
    tag = world.client.get(f"/api/v1/cases/{s.ids['case2']}", headers=s.h("KASN")).headers["etag"]
    asked = world.client.post(
        f"/api/v1/cases/{s.ids['case2']}/information-requests",
        json={"question": "Mohon bukti asli"},
        headers=s.h("KASN", **{"If-Match": tag}),
    )
    assert asked.status_code == 201, asked.text
    s.ids["request"] = asked.json()["id"]
    return s


Call = Callable[[Scene], Any]


def _etag(s: Scene) -> None:
    s.ids["etag"] = s.world.client.get(f"/api/v1/cases/{s.ids['case']}", headers=s.h("KASN")).headers["etag"]


def _screening_etag(s: Scene) -> None:
    move(s.world, s.ids["case"], "screening")
    _etag(s)


def _to_recommendation(s: Scene) -> None:
    for step in ("screening", "clarification", "assessment", "recommendation_issued"):
        assert move(s.world, s.ids["case"], step).status_code == 200


SANCTION = {
    "track": "discipline",
    "code": "written_reprimand",
    "legal_basis": "PP 94/2021 Ps 8 ayat (2)",
    "decided_by": "Wali Kota Bandung",
    "decree_number": "800/1/BKPSDM",
    "decree_date": "2024-07-01",
}

# (method, path) -> (arrange, allowed call, refused call, refused status). ``arrange`` runs before counting.
Row = tuple[Callable[[Scene], None] | None, Call, Call | None, int | None]


def get(path: str, agency: str | None, **params: Any) -> Call:
    return lambda s: s.world.client.get(path.format(**s.ids), params=params, headers=s.h(agency) if agency else {})


TABLE: dict[tuple[str, str], Row] = {
    ("POST", "/oauth/token"): (
        None,
        lambda s: s.world.token_response("BAWASLU"),
        lambda s: s.world.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("x", "y")),
        401,
    ),
    ("POST", "/oauth/revoke"): (
        None,
        lambda s: s.world.client.post(
            "/oauth/revoke",
            data={"token": s.headers["BAWASLU"]["Authorization"][7:]},
            auth=(s.world.clients["BAWASLU"].client_id, s.world.clients["BAWASLU"].secret or ""),
        ),
        lambda s: s.world.client.post("/oauth/revoke", data={"token": "x"}),
        401,
    ),
    ("GET", "/.well-known/jwks.json"): (None, get("/.well-known/jwks.json", None), None, None),
    ("GET", "/api/v1/me"): (None, get("/api/v1/me", "KASN"), get("/api/v1/me", None), 401),
    ("GET", "/api/v1/agreement"): (None, get("/api/v1/agreement", "BAWASLU"), get("/api/v1/agreement", None), 401),
    ("GET", "/api/v1/catalogues/violations"): (
        None,
        get("/api/v1/catalogues/violations", "APTIKA"),
        get("/api/v1/catalogues/violations", None),
        401,
    ),
    ("GET", "/api/v1/catalogues/sanctions"): (
        None,
        get("/api/v1/catalogues/sanctions", "KASN"),
        get("/api/v1/catalogues/sanctions", None),
        401,
    ),
    ("GET", "/api/v1/stats"): (None, get("/api/v1/stats", "ITJEN"), get("/api/v1/stats", None), 401),
    ("GET", "/api/v1/events"): (
        None,
        get("/api/v1/events", "BAWASLU"),
        get("/api/v1/events", "BAWASLU", after="!"),
        422,
    ),
    ("POST", "/api/v1/evidence"): (
        None,
        lambda s: s.world.client.post(
            "/api/v1/evidence", content=PNG + b"x", headers=s.h("APTIKA", **{"Content-Type": "image/png"})
        ),
        lambda s: s.world.client.post(
            "/api/v1/evidence", content=PNG, headers=s.h("KASN", **{"Content-Type": "image/png"})
        ),
        403,
    ),
    ("GET", "/api/v1/evidence/{sha256}"): (
        None,
        lambda s: s.world.client.get(f"/api/v1/evidence/{s.ids['sha256']}", headers=s.h("KASN")),
        lambda s: s.world.client.get("/api/v1/evidence/" + "0" * 64, headers=s.h("KASN")),
        404,
    ),
    ("POST", "/api/v1/reports"): (
        None,
        lambda s: s.world.client.post(
            "/api/v1/reports",
            json=report_payload("R-9", content_url="https://x.com/9"),
            headers=s.h("APTIKA", **{"Idempotency-Key": "t-9"}),
        ),
        lambda s: s.world.client.post(
            "/api/v1/reports", json={"reference": "R-10"}, headers=s.h("APTIKA", **{"Idempotency-Key": "t-10"})
        ),
        422,
    ),
    ("POST", "/api/v1/reports:batch"): (
        None,
        lambda s: s.world.client.post(
            "/api/v1/reports:batch",
            json={"items": [report_payload("B-1", content_url="https://x.com/b1")]},
            headers=s.h("APTIKA", **{"Idempotency-Key": "t-b"}),
        ),
        lambda s: s.world.client.post(
            "/api/v1/reports:batch",
            json={"items": [report_payload("R-1", content_url="https://x.com/b2")]},  # reference already used
            headers=s.h("APTIKA", **{"Idempotency-Key": "t-b2"}),
        ),
        409,
    ),
    ("GET", "/api/v1/reports"): (None, get("/api/v1/reports", "APTIKA"), get("/api/v1/reports", "KASN"), 403),
    ("GET", "/api/v1/reports/{report_id}"): (
        None,
        get("/api/v1/reports/{report}", "APTIKA"),
        get("/api/v1/reports/not-a-uuid", "APTIKA"),
        422,
    ),
    ("GET", "/api/v1/reports/{report_id}/access-log"): (
        None,
        get("/api/v1/reports/{report}/access-log", "APTIKA"),
        get("/api/v1/reports/{report}/access-log", "BAWASLU"),
        403,
    ),
    ("GET", "/api/v1/information-requests"): (
        None,
        get("/api/v1/information-requests", "APTIKA"),
        get("/api/v1/information-requests", "ITJEN"),
        403,
    ),
    ("POST", "/api/v1/information-requests/{request_id}/answer"): (
        None,
        lambda s: s.world.client.post(
            f"/api/v1/information-requests/{s.ids['request']}/answer", json={"note": "terlampir"}, headers=s.h("APTIKA")
        ),
        lambda s: s.world.client.post(
            f"/api/v1/information-requests/{s.ids['request']}/answer", json={"note": ""}, headers=s.h("APTIKA")
        ),
        422,
    ),
    ("GET", "/api/v1/cases"): (None, get("/api/v1/cases", "BAWASLU"), get("/api/v1/cases", "APTIKA"), 403),
    ("GET", "/api/v1/cases/{case_id}"): (
        None,
        get("/api/v1/cases/{case}", "KASN"),
        lambda s: s.world.client.get("/api/v1/cases/00000000-0000-0000-0000-000000000000", headers=s.h("KASN")),
        404,
    ),
    ("GET", "/api/v1/cases/{case_id}/history"): (
        None,
        get("/api/v1/cases/{case}/history", "BAWASLU"),
        get("/api/v1/cases/{case}/history", None),
        401,
    ),
    ("POST", "/api/v1/cases/{case_id}/transitions"): (
        _etag,
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case']}/transitions",
            json={"to": "screening", "reason": "mulai"},
            headers=s.h("KASN", **{"If-Match": s.ids["etag"]}),
        ),
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case']}/transitions",
            json={"to": "screening", "reason": "mulai"},
            headers=s.h("KASN", **{"If-Match": '"stale"'}),
        ),
        412,
    ),
    ("POST", "/api/v1/cases/{case_id}/information-requests"): (
        _screening_etag,
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case']}/information-requests",
            json={"question": "Tautan asli?"},
            headers=s.h("KASN", **{"If-Match": s.ids["etag"]}),
        ),
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case']}/information-requests",
            json={"question": "Tautan asli?"},
            headers=s.h("KASN"),
        ),
        428,
    ),
    ("POST", "/api/v1/cases/{case_id}/sanctions"): (
        _to_recommendation,
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case']}/sanctions", json=SANCTION, headers=s.h("KASN", **{"Idempotency-Key": "s1"})
        ),
        lambda s: s.world.client.post(
            f"/api/v1/cases/{s.ids['case2']}/sanctions", json=SANCTION, headers=s.h("KASN", **{"Idempotency-Key": "s2"})
        ),
        409,
    ),
    ("GET", "/api/v1/cases/{case_id}/reports/{report_id}/reporter-identity"): (
        None,
        get("/api/v1/cases/{case}/reports/{report}/reporter-identity", "KASN"),
        get("/api/v1/cases/{case}/reports/{report}/reporter-identity", "BAWASLU"),
        403,
    ),
    ("GET", "/api/v1/audit/events"): (
        None,
        get("/api/v1/audit/events", "ITJEN"),
        get("/api/v1/audit/events", "KASN"),
        403,
    ),
    ("GET", "/api/v1/audit/events:export"): (
        None,
        get("/api/v1/audit/events:export", "ITJEN"),
        get("/api/v1/audit/events:export", "ITJEN", from_seq=0),
        422,
    ),
    ("GET", "/api/v1/audit/checkpoints"): (
        None,
        get("/api/v1/audit/checkpoints", "ITJEN"),
        get("/api/v1/audit/checkpoints", "ITJEN", cursor="x"),
        422,
    ),
    ("GET", "/api/v1/audit/checkpoints:export"): (
        None,
        get("/api/v1/audit/checkpoints:export", "ITJEN"),
        get("/api/v1/audit/checkpoints:export", "APTIKA"),
        403,
    ),
    ("GET", "/api/v1/audit/public-key"): (
        None,
        get("/api/v1/audit/public-key", "ITJEN"),
        get("/api/v1/audit/public-key", None),
        401,
    ),
}


def test_every_route_is_in_the_table() -> None:
    assert set(ROUTES) - UNAUDITED == set(TABLE), (set(ROUTES) - UNAUDITED) ^ set(TABLE)


def count(world: World) -> int:
    world.sealed()  # refusals before authentication are counted in summary rows: their windows closed here
    return int(world.db.exec(select(func.count()).select_from(AuditEvent)).one())


def last(world: World) -> AuditEvent:
    return world.db.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()  # type: ignore[return-value]


@pytest.mark.parametrize(("method", "path"), sorted(TABLE))
def test_one_row_per_call_with_its_outcome(scene: Scene, method: str, path: str) -> None:
    arrange, allowed, refused, refused_status = TABLE[(method, path)]
    world = scene.world
    if arrange:
        arrange(scene)
    before = count(world)
    response = allowed(scene)
    assert 200 <= response.status_code < 300, response.text
    assert count(world) == before + 1
    row = last(world)
    assert (row.outcome, row.status, row.request_id) == (
        "allowed",
        response.status_code,
        response.headers["x-request-id"],
    )
    if refused is None:
        return
    before = count(world)
    response = refused(scene)
    assert response.status_code == refused_status, response.text
    assert count(world) == before + 1
    row = last(world)
    assert (row.outcome, row.status) == ("refused", refused_status)


@pytest.mark.parametrize("path", sorted(p for _, p in UNAUDITED))
def test_probes_leave_no_row(world: World, path: str) -> None:
    before = count(world)
    assert world.client.get(path).status_code == 200
    assert count(world) == before
