"""Every route × every role, generated from the app's routes: a new route without a rule here fails."""

import re
from typing import Any

import pytest

from app.main import create_app
from tests.builders import PNG, World

PUBLIC = "public"
ANY = "any"  # any valid token
ROLES = {"reporter": "APTIKA", "authority": "KASN", "observer": "BAWASLU", "auditor": "ITJEN"}

# (method, path) -> roles that pass the access rule; plus a scope that a permitted role may narrow its token to
# while still lacking what the route needs (the "wrong scope" column).
RULES: dict[tuple[str, str], tuple[set[str] | str, tuple[str, str] | None]] = {
    ("POST", "/oauth/token"): (PUBLIC, None),
    ("POST", "/oauth/revoke"): (PUBLIC, None),
    ("GET", "/.well-known/jwks.json"): (PUBLIC, None),
    ("GET", "/healthz"): (PUBLIC, None),
    ("GET", "/readyz"): (PUBLIC, None),
    ("GET", "/api/v1/me"): (ANY, None),
    ("GET", "/api/v1/agreement"): (ANY, None),
    ("GET", "/api/v1/catalogues/violations"): (ANY, None),
    ("GET", "/api/v1/catalogues/sanctions"): (ANY, None),
    ("GET", "/api/v1/evidence/{sha256}"): (ANY, None),
    ("POST", "/api/v1/reports"): ({"reporter"}, ("reporter", "reports:read")),
    ("POST", "/api/v1/reports:batch"): ({"reporter"}, ("reporter", "reports:read")),
    ("GET", "/api/v1/reports"): ({"reporter"}, ("reporter", "reports:write")),
    ("GET", "/api/v1/reports/{report_id}"): ({"reporter"}, ("reporter", "reports:write")),
    ("GET", "/api/v1/information-requests"): ({"reporter"}, ("reporter", "reports:write")),
    ("POST", "/api/v1/information-requests/{request_id}/answer"): ({"reporter"}, ("reporter", "reports:read")),
    ("POST", "/api/v1/evidence"): ({"reporter"}, ("reporter", "reports:read")),
    ("GET", "/api/v1/cases"): ({"authority", "observer"}, ("authority", "sanctions:write")),
    ("GET", "/api/v1/cases/{case_id}"): ({"authority", "observer"}, ("authority", "sanctions:write")),
    ("GET", "/api/v1/cases/{case_id}/history"): ({"authority", "observer"}, ("authority", "sanctions:write")),
    ("POST", "/api/v1/cases/{case_id}/transitions"): ({"authority"}, ("authority", "cases:read")),
    ("POST", "/api/v1/cases/{case_id}/information-requests"): ({"authority"}, ("authority", "cases:read")),
    ("POST", "/api/v1/cases/{case_id}/sanctions"): ({"authority"}, ("authority", "cases:write")),
    ("GET", "/api/v1/cases/{case_id}/reports/{report_id}/reporter-identity"): (
        {"authority"},
        ("authority", "cases:read"),
    ),
    ("GET", "/api/v1/events"): ({"reporter", "authority", "observer", "auditor"}, ("authority", "sanctions:write")),
    ("GET", "/api/v1/audit/events"): ({"auditor"}, None),
    ("GET", "/api/v1/audit/events:export"): ({"auditor"}, None),
    ("GET", "/api/v1/audit/checkpoints"): ({"auditor"}, None),
    ("GET", "/api/v1/audit/checkpoints:export"): ({"auditor"}, None),
    ("GET", "/api/v1/audit/public-key"): ({"auditor"}, None),
    ("GET", "/api/v1/reports/{report_id}/access-log"): ({"reporter"}, ("reporter", "reports:write")),
    ("GET", "/api/v1/stats"): ({"reporter", "authority", "observer", "auditor"}, ("authority", "sanctions:write")),
}

# The app's routes as the router registers them (FastAPI nests included routers; the OpenAPI document is the
# flat list of every operation the app serves).
ROUTES = sorted(
    (method.upper(), path) for path, operations in create_app().openapi()["paths"].items() for method in operations
)


def test_every_route_has_a_rule() -> None:
    assert set(ROUTES) == set(RULES), (
        f"routes without rules: {set(ROUTES) - set(RULES)}; stale: {set(RULES) - set(ROUTES)}"
    )


def call(world: World, method: str, path: str, headers: dict[str, str]) -> Any:
    """Every call, whoever makes it, gets an answer below 500: a refusal is never a crash."""
    url = re.sub(r"\{sha256\}", "0" * 64, path)
    url = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", url)
    if method == "GET":
        response = world.client.get(url, headers=headers)
    elif path == "/api/v1/evidence":
        response = world.client.post(url, content=PNG, headers={**headers, "Content-Type": "image/png"})
    else:
        response = world.client.post(url, json={}, headers={**headers, "Idempotency-Key": "matrix", "If-Match": '"x"'})
    assert response.status_code < 500, (method, path, response.status_code, response.text)
    return response


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_access(world: World, method: str, path: str) -> None:
    allowed, wrong_scope = RULES[(method, path)]
    if allowed == PUBLIC:
        assert call(world, method, path, {}).status_code not in (401, 403)
        return
    anonymous = call(world, method, path, {})
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for role, agency in ROLES.items():
        response = call(world, method, path, world.auth(agency))
        permitted = allowed == ANY or role in allowed  # type: ignore[operator]
        if permitted:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.json()["type"] == "/problems/insufficient-scope"
    if wrong_scope:
        role, scope = wrong_scope
        response = call(world, method, path, world.auth(ROLES[role], scope=scope))
        assert response.status_code == 403, (role, scope, response.status_code)
