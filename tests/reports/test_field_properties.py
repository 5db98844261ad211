"""Hypothesis drives each field validator of a report through HTTP: whatever the text, the answer is 201 or a
422 that points at that field, never a 5xx; and what is accepted is stored as sent (only the declared
whitespace trimming), never stripped or altered silently."""

import itertools
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import World, push, report_payload

_n = itertools.count()
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any Unicode text, NUL and other control characters included (surrogates cannot travel in JSON as UTF-8).
ANY_TEXT = st.text(max_size=400)


def submit(world: World, **changes: Any) -> Any:
    payload = report_payload(f"PROP-{next(_n)}", content_url=f"https://x.com/prop/status/{next(_n)}", platform="x")
    asn = {**payload["asn"], **changes.pop("asn", {})}
    response = push(world, {**payload, **changes, "asn": asn})
    assert response.status_code in (201, 422), (changes, response.status_code, response.text[:300])
    return response


def refused_at(response: Any, pointer: str) -> bool:
    return response.status_code == 422 and any(e["pointer"] == pointer for e in response.json()["errors"])


def stored(world: World, response: Any) -> Any:
    return world.client.get(f"/api/v1/reports/{response.json()['id']}", headers=world.auth("APTIKA")).json()


@SETTINGS
@given(text=ANY_TEXT)
def test_excerpt(world: World, text: str) -> None:
    response = submit(world, excerpt=text)
    if response.status_code == 201:
        assert stored(world, response)["excerpt"] == text
    else:
        assert refused_at(response, "/body/excerpt")
        assert "\x00" in text  # the only text an excerpt refuses: what PostgreSQL cannot store


@SETTINGS
@given(field=st.sampled_from(["name", "instansi", "jabatan"]), text=ANY_TEXT)
def test_asn_text_fields(world: World, field: str, text: str) -> None:
    response = submit(world, asn={field: text})
    if response.status_code == 201:
        assert stored(world, response)["asn"][field] == text.strip()  # trimmed, as the contract says
        assert text.strip() and "\x00" not in text
    else:
        assert refused_at(response, f"/body/asn/{field}")


@SETTINGS
@given(nip=st.one_of(st.text(alphabet="0123456789", min_size=0, max_size=20), ANY_TEXT))
def test_nip(world: World, nip: str) -> None:
    response = submit(world, asn={"nip": nip})
    if response.status_code == 201:
        assert stored(world, response)["asn"]["identifier"] == nip and len(nip) == 18 and nip.isascii()
    else:
        assert refused_at(response, "/body/asn/nip")


@SETTINGS
@given(code=st.one_of(st.from_regex(r"\A[0-9]{2}(\.[0-9]{2})?\Z"), ANY_TEXT))
def test_region_code(world: World, code: str) -> None:
    response = submit(world, asn={"region_code": code})
    if response.status_code == 201:
        assert stored(world, response)["asn"]["region_code"] == code
    else:
        assert refused_at(response, "/body/asn/region_code")


@SETTINGS
@given(url=st.one_of(st.builds("https://x.com/{}/status/{}".format, st.text(max_size=30), st.integers()), ANY_TEXT))
def test_content_url(world: World, url: str) -> None:
    response = submit(world, content_url=url)
    if response.status_code == 422:
        assert refused_at(response, "/body/content_url")
    else:
        assert stored(world, response)["content_url"].startswith("https://")


@SETTINGS
@given(at=st.one_of(st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()), ANY_TEXT))
def test_captured_at(world: World, at: str) -> None:
    response = submit(world, captured_at=at)
    if response.status_code == 422:
        assert refused_at(response, "/body/captured_at")
    else:  # the same instant, kept in UTC
        sent = datetime.fromisoformat(at)
        assert sent.tzinfo is not None
        assert datetime.fromisoformat(stored(world, response)["captured_at"]) == sent
