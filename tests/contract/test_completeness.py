"""The contract an integrator builds against is complete: every operation described, every problem it can
answer declared, and the request examples are requests the service accepts."""

from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from app.contract import EXAMPLE_REPORT, REQUEST_EXAMPLES
from app.main import create_app
from tests.builders import World, push

SCHEMA = create_app().openapi()
OPERATIONS = [(path, method, op) for path, item in SCHEMA["paths"].items() for method, op in item.items()]
UNAUTHENTICATED = {"get_jwks", "get_health", "get_readiness", "issue_token", "revoke_token"}


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=[op["operationId"] for *_, op in OPERATIONS])
def test_every_operation_is_described_and_declares_its_problems(path: str, method: str, operation: Any) -> None:
    assert operation["operationId"] and operation["summary"] and len(operation["description"]) > 40
    responses = operation["responses"]
    assert {"500", "503"} <= responses.keys()
    assert responses["503"]["headers"]["Retry-After"]
    if operation["operationId"] not in UNAUTHENTICATED:
        assert {"401", "429"} <= responses.keys()
        assert operation["security"]
    if "requestBody" in operation:
        assert {"408", "413"} <= responses.keys()
    for status, response in responses.items():
        if status.startswith(("4", "5")) and operation["operationId"] not in {"issue_token", "revoke_token"}:
            assert "application/problem+json" in response["content"], (status, path)
    for schema in _walk(operation):
        if schema.get("type") == "integer":
            assert schema["format"] in ("int32", "int64")


def test_tags_and_the_oauth_security_scheme_are_declared() -> None:
    assert {t["name"] for t in SCHEMA["tags"]} >= {t for *_, op in OPERATIONS for t in op.get("tags", [])}
    basic = SCHEMA["components"]["securitySchemes"]["clientSecretBasic"]
    assert (basic["type"], basic["scheme"]) == ("http", "basic") and "private_key_jwt" in basic["description"]
    token = SCHEMA["paths"]["/oauth/token"]["post"]
    assert token["security"] == [{"clientSecretBasic": []}, {}]


def test_request_examples_validate_against_the_routes_own_models() -> None:
    checked = 0
    for route in _api_routes():
        if route.operation_id not in REQUEST_EXAMPLES or route.body_field is None:
            continue
        annotation = route.body_field.field_info.annotation
        if route.operation_id in ("issue_token", "revoke_token"):
            continue  # form fields, not a model: checked through HTTP by the OAuth tests
        TypeAdapter(annotation).validate_python(REQUEST_EXAMPLES[route.operation_id])
        checked += 1
    assert checked == 6


def test_the_report_example_is_accepted_over_http(world: World) -> None:
    example = {k: v for k, v in EXAMPLE_REPORT.items() if k != "evidence"}  # its evidence is not uploaded here
    response = push(world, example)
    assert response.status_code == 201, response.text


def _api_routes() -> Any:
    for route in create_app().routes:
        if isinstance(route, APIRoute):
            yield route
        for included in getattr(getattr(route, "original_router", None), "routes", []):
            if isinstance(included, APIRoute):
                yield included


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_a_case_response_matches_exactly_one_view(world: World) -> None:
    """oneOf with `view` as discriminator, and closed schemas: each role's response carries its view and only
    the properties that view declares."""
    schemas = SCHEMA["components"]["schemas"]
    created = push(world, {k: v for k, v in EXAMPLE_REPORT.items() if k != "evidence"}).json()
    for agency, view, name in (("KASN", "authority", "CaseForAuthority"), ("BAWASLU", "observer", "CaseForObserver")):
        case = world.client.get(f"/api/v1/cases/{created['case']['id']}", headers=world.auth(agency)).json()
        page = world.client.get("/api/v1/cases", headers=world.auth(agency)).json()
        assert case["view"] == page["view"] == view
        declared = schemas[name]
        assert declared["additionalProperties"] is False and set(case) <= set(declared["properties"])
        assert set(declared["required"]) <= set(case)
        report_schema = schemas[declared["properties"]["reports"]["items"]["$ref"].rsplit("/", 1)[1]]
        assert report_schema["additionalProperties"] is False
        assert set(case["reports"][0]) <= set(report_schema["properties"])
    observer_reports = schemas["ReportInCase"]["properties"]
    assert "has_public_reporter" not in observer_reports  # an authority's report cannot pass as an observer's


def test_rate_limit_headers_name_the_limit_that_applies(world: World) -> None:
    settings = world.settings
    authenticated = world.client.get("/api/v1/me", headers=world.auth("KASN"))
    assert authenticated.headers["RateLimit-Limit"] == str(settings.requests_per_client)
    assert 0 < int(authenticated.headers["RateLimit-Reset"]) <= settings.rate_window_seconds
    anonymous = world.client.get("/api/v1/me")
    assert anonymous.status_code == 401 and anonymous.headers["RateLimit-Limit"] == str(settings.refusals_per_source)
    token = world.client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert token.headers["RateLimit-Limit"] == str(settings.token_requests_per_source)
    assert "RateLimit-Limit" not in world.client.get("/healthz").headers
    declared = SCHEMA["paths"]["/api/v1/me"]["get"]["responses"]["200"]["headers"]
    assert {"RateLimit-Limit", "RateLimit-Reset"} <= declared.keys()


def test_response_examples_validate_against_the_routes_own_models() -> None:
    from app.auth.schemas import TokenResponse
    from app.contract import RESPONSE_EXAMPLES

    models = {route.operation_id: route.response_model for route in _api_routes()}
    models["issue_token"] = TokenResponse  # answered as a JSONResponse (RFC 6749 headers), typed here
    for (operation, status), example in RESPONSE_EXAMPLES.items():
        TypeAdapter(models[operation]).validate_python(example)
        declared = next(op for *_, op in OPERATIONS if op["operationId"] == operation)
        assert declared["responses"][status]["content"]["application/json"]["example"] == example


def test_a_problem_lists_at_most_the_declared_number_of_field_errors(world: World) -> None:
    """A batch of 100 broken items has hundreds of field errors; the answer names the first 100, as declared."""
    broken = [{"reference": f"B-{n}"} for n in range(100)]  # each misses a dozen required fields
    response = world.client.post(
        "/api/v1/reports:batch", json={"items": broken}, headers={**world.auth("APTIKA"), "Idempotency-Key": "cap"}
    )
    assert response.status_code == 422
    declared = SCHEMA["components"]["schemas"]["Problem"]["properties"]["errors"]["anyOf"][0]["maxItems"]
    assert declared == 100 and len(response.json()["errors"]) == declared
