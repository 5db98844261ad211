"""Authorisation changes bite on the very next request in every server process, although each process
caches resolved principals: two real `netral serve` processes, warmed up, then an operator change."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.builders import World, cli_client, report_payload
from tests.live_server import active_agreement, live_bearer, live_push, live_token, netral_serve


def test_a_disabled_client_is_refused_next_request_in_every_process(world: World, run: Any, database_url: str) -> None:
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        bearer = {"Authorization": f"Bearer {live_token(first, world.clients['BAWASLU'], 'cases:read')}"}
        for url in (first, second, first, second):  # each process has resolved and cached the principal
            assert httpx.get(f"{url}/api/v1/cases", headers=bearer).status_code == 200
        assert run("clients", "disable", world.clients["BAWASLU"].client_id)[0] == 0
        for url in (second, first):
            refused = httpx.get(f"{url}/api/v1/cases", headers=bearer)
            assert refused.status_code == 401 and refused.json()["type"] == "/problems/invalid-token"


def test_a_revoked_token_is_refused_next_request_in_the_other_process(world: World, database_url: str) -> None:
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        access = live_token(first, world.clients["KASN"], "cases:read")
        bearer = {"Authorization": f"Bearer {access}"}
        assert httpx.get(f"{second}/api/v1/cases", headers=bearer).status_code == 200
        seeded = world.clients["KASN"]
        revoked = httpx.post(f"{first}/oauth/revoke", data={"token": access}, auth=(seeded.client_id, seeded.secret))
        assert revoked.status_code == 200
        assert httpx.get(f"{second}/api/v1/cases", headers=bearer).status_code == 401


def test_a_transferred_role_bites_next_request_in_every_process(world: World, run: Any, database_url: str) -> None:
    active_agreement(run, "LIVE-SUCCESSION")
    assert run("agencies", "create", "BKN", "--name", "Badan Kepegawaian Negara", "--role", "reporter")[0] == 0
    bkn = world.clients[cli_client(world, run, "BKN", "cases:read")]
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        kasn = live_bearer(first, world.clients["KASN"], "cases:read")
        for url in (first, second):  # each process has resolved and cached KASN's principal
            assert httpx.get(f"{url}/api/v1/cases", headers=kasn).status_code == 200
        early = httpx.post(
            f"{first}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "cases:read"},
            auth=(bkn.client_id, bkn.secret or ""),
        )
        assert (early.status_code, early.json()["error"]) == (400, "invalid_scope")  # a reporter: no cases:read

        code, out = run("agencies", "transfer-role", "--role", "case_authority", "--from", "KASN", "--to", "BKN")
        assert code == 0, out

        for url in (second, first):
            refused = httpx.get(f"{url}/api/v1/cases", headers=kasn)
            assert refused.status_code == 403, refused.text
            assert refused.json()["type"] == "/problems/insufficient-scope"
        successor = live_bearer(second, bkn, "cases:read")
        for url in (first, second):
            assert httpx.get(f"{url}/api/v1/cases", headers=successor).status_code == 200


WARM_UP_SECONDS = 8  # the agreement's life in the test below: long enough for its warm-up on a busy machine


def test_an_agreements_end_and_a_later_extension_bite_in_every_process(
    world: World, run: Any, database_url: str
) -> None:
    """On the wall clock, with no restart: two warmed-up processes refuse new reports and case work the moment
    an agreement ends, and take up the case work again as soon as the operator extends the case's region."""
    with netral_serve(database_url) as first, netral_serve(database_url) as second:
        ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=WARM_UP_SECONDS)
        since = str(ends.date() - timedelta(days=1))
        assert run(
            "agreements", "create", "LIVE-END", "--title", "ends during the test", "--valid-from", since,
            "--valid-until", ends.strftime("%Y-%m-%dT%H:%M:%S%z"), "--party", "APTIKA", "--party", "KASN",
        )[0] == 0  # fmt: skip
        aptika = live_bearer(first, world.clients["APTIKA"], "reports:write", "reports:read")
        kasn = live_bearer(second, world.clients["KASN"], "cases:read", "cases:write")
        pushed = live_push(first, aptika, report_payload(), "live-end-1")
        assert pushed.status_code == 201, pushed.text
        case_id = pushed.json()["case"]["id"]
        for url in (first, second):  # both processes have cached both principals under the agreement in force
            assert httpx.get(f"{url}/api/v1/reports", headers=aptika).status_code == 200
            assert httpx.get(f"{url}/api/v1/cases/{case_id}", headers=kasn).status_code == 200

        left = (ends - datetime.now(UTC)).total_seconds()
        assert left > 0, f"the warm-up overran the agreement's end by {-left:.1f} s: raise WARM_UP_SECONDS"
        time.sleep(left + 0.5)

        for n, url in enumerate((second, first)):
            late_report = report_payload(f"APT-LATE-{n}", content_url=f"https://x.com/late/status/{n}")
            late = live_push(url, aptika, late_report, f"live-end-late-{n}")
            assert late.status_code == 403 and late.json()["type"] == "/problems/agreement-expired", late.text
            moved = move(url, kasn, case_id)
            assert moved.status_code == 403 and moved.json()["type"] == "/problems/agreement-expired", moved.text
            assert httpx.get(f"{url}/api/v1/cases/{case_id}", headers=kasn).status_code == 200  # reads go on

        until = str((datetime.now(UTC) + timedelta(days=30)).date())
        assert run("agreements", "extend", "LIVE-END", "--region", "32.73", "--until", until, "--reason", "PSU")[0] == 0
        assert move(second, kasn, case_id).status_code == 200
        assert move(first, kasn, case_id, to="clarification").status_code == 200


def move(url: str, headers: dict[str, str], case_id: str, to: str = "screening") -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/cases/{case_id}/transitions",
        json={"to": to, "reason": "live clock"},
        headers={**headers, "If-Match": "*"},
    )
