"""Property-based fuzzing of the contract (issues #11, #12): schemathesis generates requests from the app's
own OpenAPI document, for every operation, once per role (that role's real token) and anonymously, against
the test's own app and database. No generated input may answer a 5xx, and every answer must match the
contract: its status declared, its media type and headers declared, its body valid against the schema.
Examples per operation are few here, to keep the suite fast; ``NETRAL_FUZZ_EXAMPLES`` raises them."""

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.builders import World

EXAMPLES = int(os.environ.get("NETRAL_FUZZ_EXAMPLES", "4"))
AGENCIES = (None, "APTIKA", "KASN", "BAWASLU", "ITJEN")  # anonymous, reporter, authority, observer, auditor

schema = schemathesis.openapi.from_dict(create_app().openapi())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
pytestmark = pytest.mark.filterwarnings("ignore")  # the fuzzers' own deprecation chatter


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a or "anonymous")
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_answer_matches_the_contract_and_none_is_5xx(case: Any, agency: str | None, world: World) -> None:
    request = case.as_transport_kwargs(base_url="http://testserver")
    # The test client (httpx) sends header values as ASCII; other values are the edge's business, not this test's.
    assume(all(str(v).isascii() for v in (request.get("headers") or {}).values()))
    headers = {**(request.get("headers") or {}), **(world.auth(agency) if agency else {})}
    response = world.client.request(**{**request, "headers": headers})
    assert response.status_code < 500, (agency, request, response.status_code, response.text[:500])
    case.validate_response(response, checks=CHECKS)
