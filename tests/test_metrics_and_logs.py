"""Metrics and request logs of a real `netral serve` process: Prometheus text on its own port (never on the
API's), requests by route template and status from every worker, latency, pool use, audit and agreement facts;
one JSON log line per request with route, status, duration, agency and client, and nothing personal."""

import json
import re
from pathlib import Path

import httpx

from tests.builders import World
from tests.live_server import free_port, start_netral


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_port_and_json_request_logs(world: World, database_url: str, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "server.log"
    process = start_netral(
        database_url, port, "--workers", "2", log=log, NETRAL_METRICS_PORT=str(metrics_port), NETRAL_LOG_LEVEL="INFO"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        seeded = world.clients["KASN"]
        token = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(seeded.client_id, seeded.secret)
        ).json()["access_token"]
        for _ in range(6):  # spread over both workers
            assert httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx.get(f"{base}/api/v1/me").status_code == 401
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the agencies' port

        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        text = scraped.text
        assert sample(text, "netral_requests_total", method="GET", route="/api/v1/me", status="200") == 6.0
        assert sample(text, "netral_requests_total", method="GET", route="/api/v1/me", status="401") == 1.0
        assert sample(text, "netral_requests_total", route="/oauth/token", status="200") == 1.0
        assert sample(text, "netral_request_duration_seconds_count", method="GET", route="/api/v1/me") == 7.0
        assert sample(text, "netral_database_up") == 1.0
        assert sample(text, "netral_audit_rows_unsealed") is not None
        assert sample(text, "netral_agreement_days_left", agreement="PKS-2024-APTIKA-KASN") is not None
        assert sample(text, "netral_db_pool_size") is not None
        states = [line for line in text.splitlines() if line.startswith("netral_agreement_state{")]
        assert states and all(line.endswith(" 1.0") for line in states)
    finally:
        process.terminate()
        process.wait(timeout=10)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    me = [r for r in requests if r["route"] == "/api/v1/me" and r["status"] == 200]
    assert len(me) == 6
    assert {r["agency"] for r in me} == {"KASN"} and {r["client_id"] for r in me} == {seeded.client_id}
    assert all(r["request_id"] and r["duration_ms"] >= 0 for r in me)
    refused = [r for r in requests if r["route"] == "/api/v1/me" and r["status"] == 401]
    assert len(refused) == 1 and refused[0]["agency"] is None
    raw = log.read_text()
    assert token not in raw and (seeded.secret or "") not in raw and "Bearer" not in raw
