"""Property-based fuzzing of the contract (issue #11): schemathesis generates requests from the app's own
OpenAPI document, for every operation; each is sent as a role would send it (that role's real token, the
roles taking turns) or anonymously, to the test's own app and database. No generated input may answer a 5xx.
Examples per operation are few here, to keep the suite fast; ``NETRAL_FUZZ_EXAMPLES`` raises them."""

import itertools
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings

from app.main import create_app
from tests.builders import World

EXAMPLES = int(os.environ.get("NETRAL_FUZZ_EXAMPLES", "10"))
AGENCIES = (None, "APTIKA", "KASN", "BAWASLU", "ITJEN")  # anonymous, reporter, authority, observer, auditor

schema = schemathesis.openapi.from_dict(create_app().openapi())
_turn = itertools.count()
pytestmark = pytest.mark.filterwarnings("ignore")  # the fuzzers' own deprecation chatter


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_input_answers_5xx(case: Any, world: World) -> None:
    request = case.as_transport_kwargs(base_url="http://testserver")
    # The test client (httpx) sends header values as ASCII; other values are the edge's business, not this test's.
    assume(all(str(v).isascii() for v in (request.get("headers") or {}).values()))
    agency = AGENCIES[next(_turn) % len(AGENCIES)]  # the roles take turns over the generated requests
    headers = {**(request.get("headers") or {}), **(world.auth(agency) if agency else {})}
    response = world.client.request(**{**request, "headers": headers})
    assert response.status_code < 500, (agency, request, response.status_code, response.text[:500])
