"""What a Netral request costs against a bare baseline measured in the same run (issue #10).

- A throwaway PostgreSQL database made by the project's migrations, the demo seed, and N cases each with one
  report (SQL, in bulk).
- Netral (`netral serve`, one process) and the bare baseline (``bench/bare_app.py``: a raw ASGI app on the
  same server and driver sending the same SQL) are loaded one at a time, each pinned to core 1, by wrk pinned to core 0
  (`taskset`), 32 connections, for ``--seconds`` each; per endpoint, ``--rounds`` times in alternation (bare,
  Netral, bare, Netral, ...), so a machine whose speed drifts during the run moves both sides alike.
- Printed: req/s, p50 and p99 of each side's median run, Netral's ratio against the bare run next to it in
  each round, and the median of those ratios; and for the median runs, the CPU a request cost the server
  process and PostgreSQL's processes, read from ``/proc`` around the run (PostgreSQL is not pinned: its
  backends share the server's core, so what they spend the server cannot). For the case read, the framework's floor too
  (``bench/floor_app.py``: plain FastAPI sending the same one statement), in the same rounds.

Needs the machine's PostgreSQL and wrk (Debian package). Usage:
``python bench/request_cost.py [--cases 10000] [--seconds 10] [--connections 32] [--rounds 3]``.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import migrations  # noqa: E402
from tests.builders import report_payload  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
# BENCH FIXTURES ONLY — never real secrets.
BENCH_SECRET = "bench-fixture-only-secret-key-not-for-production-000"
BENCH_AUDIT_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


WARM_UP_SECONDS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_database(cases: int) -> str:
    name = f"netral_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG}/{name}"
    migrations.upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    return name


def seed(name: str, cases: int) -> dict[str, dict[str, str]]:
    env = {**os.environ, **settings_env(name)}
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app.cli", "demo"], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    clients = {}
    for line in out.splitlines():
        found = re.match(r"\s+(\w+)\s+client_id=(\S+)\s+client_secret=(\S+)", line)
        if found:
            clients[found[1]] = {"id": found[2], "secret": found[3]}
    with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_insert (id uuid PRIMARY KEY, body jsonb NOT NULL)")
        kasn = conn.execute("SELECT id FROM agency WHERE code = 'KASN'").fetchone()[0]  # type: ignore[index]
        aptika = conn.execute("SELECT id FROM agency WHERE code = 'APTIKA'").fetchone()[0]  # type: ignore[index]
        conn.execute(
            """
            INSERT INTO case_file (id, dedupe_key, status, custodian_agency_id, category, platform, region_code,
              content_url, asn_identifier, opened_at, updated_at, version)
            SELECT md5('c' || n)::uuid, md5('d' || n) || md5('e' || n), 'submitted', %s, 'online_campaign',
              'x', '32.73', 'https://x.com/bench/status/' || n, '198503152010011001',
              now() - make_interval(secs => %s - n), now(), 1
            FROM generate_series(1, %s) AS n
            """,
            (kasn, cases, cases),
        )
        conn.execute(
            """
            INSERT INTO report (id, agency_id, client_id, reference, case_id, joined_existing_case, content_url,
              platform, content_kind, captured_at, excerpt, category, asn_name, asn_identifier,
              asn_identifier_kind, asn_instansi, region_code, source, received_at)
            SELECT md5('r' || n)::uuid, %s, 'bench', 'BENCH-' || n, md5('c' || n)::uuid, false,
              'https://x.com/bench/status/' || n, 'x', 'post', now(), 'Ayo dukung paslon', 'online_campaign',
              'Budi Santoso', '198503152010011001', 'nip', 'Pemkot Bandung', '32.73', 'monitoring', now()
            FROM generate_series(1, %s) AS n
            """,
            (aptika, cases),
        )
        conn.execute("ANALYZE")
    return clients


def settings_env(name: str) -> dict[str, str]:
    return {
        "NETRAL_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "NETRAL_SECRET_KEY": BENCH_SECRET,
        "NETRAL_AUDIT_SIGNING_KEY": BENCH_AUDIT_KEY,
        "NETRAL_LOG_LEVEL": "WARNING",
        "NETRAL_ISSUER": "http://127.0.0.1",
        # The load generator is one client: its per-client limit (#11) would measure the limiter, not the request.
        "NETRAL_REQUESTS_PER_CLIENT": "1000000000",
    }


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603
        ["taskset", "-c", "1", *command],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{command} did not start")


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_pids() -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _comm(entry) in ("postgres", "postmaster")
    ]


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(server_pid: int) -> tuple[float, dict[int, float]]:
    return cpu_seconds(server_pid), {pid: cpu_seconds(pid) for pid in postgres_pids()}


def wrk(
    url: str, script: str, seconds: int, connections: int, warm_up: str | None = None, server_pid: int | None = None
) -> dict[str, float]:
    """An unmeasured warm-up first (pools filled, caches loaded), with ``warm_up`` or the same script: the
    figures are the steady state's. With ``server_pid``, the CPU a request cost that process and
    PostgreSQL's processes during the measured run."""
    for duration, lua_script in ((WARM_UP_SECONDS, warm_up or script), (seconds, script)):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(lua_script)
        before = cpu_snapshot(server_pid) if server_pid else None
        command = ["taskset", "-c", "0", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s"]
        out = subprocess.run([*command, f.name, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
        after = cpu_snapshot(server_pid) if server_pid else None
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    run = {
        "rps": rate,
        "p50": to_ms(re.search(r"50%\s+([\d.]+\w+)", out)[1]),  # type: ignore[index]
        "p99": to_ms(re.search(r"99%\s+([\d.]+\w+)", out)[1]),  # type: ignore[index]
        "non2xx": float(errors[1]) if errors else 0.0,
    }
    if before is not None and after is not None and rate:
        requests = rate * seconds
        run["server_us"] = (after[0] - before[0]) / requests * 1e6
        # a backend that ended during the run is not counted; one that started counts from zero
        spent = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
        run["postgres_us"] = spent / requests * 1e6
    return run


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def lua(method: str, path: str, headers: dict[str, str], body: str = "", per_request: str = "") -> str:
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    return f"""
wrk.method = "{method}"
{header_lines}
local n = 0
request = function()
  n = n + 1
  local path = "{path}"
  local body = [[{body}]]
  {per_request}
  return wrk.format(nil, path, nil, body)
end
"""


def transition_script(name: str, headers: dict[str, str], *, from_the_end: bool = False) -> str:
    """Each request moves another seeded case; the warm-up takes its cases from the other end of the list."""
    with psycopg.connect(f"{PG}/{name}") as conn:
        ids = [str(row[0]) for row in conn.execute("SELECT id FROM case_file WHERE status = 'submitted' ORDER BY id")]
    if from_the_end:
        ids.reverse()
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as f:
        f.write("\n".join(ids))
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    return f"""
wrk.method = "POST"
{header_lines}
wrk.headers["If-Match"] = "*"
wrk.body = '{{"to": "screening", "reason": "bench"}}'
local ids = {{}}
for line in io.lines("{f.name}") do ids[#ids + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/v1/cases/" .. ids[(n % #ids) + 1] .. "/transitions")
end
"""


def token(base: str, client: dict[str, str]) -> str:
    response = httpx.post(
        f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client["id"], client["secret"])
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def push_body() -> str:
    """The tests' report (tests/builders.py), with placeholders the Lua script makes unique per request."""
    return json.dumps(report_payload("REF", content_url="https://x.com/push/status/URL", platform="x"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/Netral runs per endpoint")
    args = parser.parse_args()

    name = make_database(args.cases)
    results: dict[str, dict[str, dict[str, float]]] = {}
    ratios: dict[str, list[float]] = {}
    try:
        clients = seed(name, args.cases)
        case_id = str(uuid.UUID(bytes=bytes.fromhex(__import__("hashlib").md5(b"c1").hexdigest())))
        env = settings_env(name)
        bare_port, netral_port = free_port(), free_port()
        # Both servers up at once (each pinned to core 1; the idle one sleeps), loaded in turn per endpoint,
        # round after round: a machine whose speed drifts during the run moves both sides alike.
        bare = start(
            [sys.executable, "bench/bare_app.py", "--port", str(bare_port), "--database-url", f"{PG}/{name}"],
            {},
            bare_port,
        )
        floor_port = free_port()
        floor = start(
            [sys.executable, "bench/floor_app.py", "--port", str(floor_port), "--database-url", f"{PG}/{name}"],
            {},
            floor_port,
        )
        netral = start([sys.executable, "-m", "app.cli", "serve", "--port", str(netral_port)], env, netral_port)
        try:
            bare_base, base = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{netral_port}"
            floor_base = f"http://127.0.0.1:{floor_port}"

            # A fresh token for every run: one minted at the start would expire (NETRAL_ACCESS_TOKEN_TTL_SECONDS,
            # 300 s) before the last runs, which would then measure refusals.
            def bearer(agency: str, *, json_body: bool = False) -> dict[str, str]:
                headers = {"Authorization": f"Bearer {token(base, clients[agency])}"}
                return {**headers, "Content-Type": "application/json"} if json_body else headers

            unique = (
                'local id = string.format("%d-%d-%d", os.time(), math.random(1, 1e9), n)\n'
                '  body = body:gsub("REF", "W-" .. id):gsub("URL", id)\n'
                '  wrk.headers["Idempotency-Key"] = "k-" .. id'
            )
            bare_insert = lua("POST", "/push", {"Content-Type": "application/json"}, push_body())
            # Each transition request moves another seeded case from submitted to screening (If-Match: *);
            # every round's script lists the cases still submitted.
            endpoints: dict[str, tuple[Any, Any]] = {
                "case read": (
                    lambda: (lua("GET", f"/case/{case_id}", {}), None),
                    lambda: (lua("GET", f"/api/v1/cases/{case_id}", bearer("KASN")), None),
                ),
                "page of 50": (
                    lambda: (lua("GET", "/cases", {}), None),
                    lambda: (lua("GET", "/api/v1/cases?limit=50", bearer("KASN")), None),
                ),
                "push": (
                    lambda: (bare_insert, None),
                    lambda: (
                        lua("POST", "/api/v1/reports", bearer("APTIKA", json_body=True), push_body(), unique),
                        None,
                    ),
                ),
                "transition / bare insert": (
                    lambda: (bare_insert, None),
                    lambda: (
                        transition_script(name, bearer("KASN", json_body=True)),
                        transition_script(name, bearer("KASN", json_body=True), from_the_end=True),
                    ),
                ),
            }
            for label, (bare_script, netral_script) in endpoints.items():
                runs: dict[str, list[dict[str, float]]] = {"bare": [], "netral": []}
                sides = [("bare", bare_base, bare_script, bare.pid), ("netral", base, netral_script, netral.pid)]
                if label == "case read":  # and the framework's floor: plain FastAPI, the same statement
                    runs["floor"] = []
                    sides.insert(1, ("floor", floor_base, bare_script, floor.pid))
                for _round in range(args.rounds):
                    for side, url, script, pid in sides:
                        measured, warm_up = script()
                        run = wrk(url, measured, args.seconds, args.connections, warm_up=warm_up, server_pid=pid)
                        runs[side].append(run)
                results[label] = {side: median_run(side_runs) for side, side_runs in runs.items()}
                ratios[label] = [n["rps"] / b["rps"] for b, n in zip(runs["bare"], runs["netral"], strict=True)]
                if "floor" in runs:
                    ratios["floor"] = [f["rps"] / b["rps"] for b, f in zip(runs["bare"], runs["floor"], strict=True)]
        finally:
            for server in (bare, floor, netral):
                server.terminate()
                server.wait()
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print_table(results, ratios, args)


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput (its latencies with it)."""
    return sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]


def print_table(
    results: dict[str, dict[str, dict[str, float]]], ratios: dict[str, list[float]], args: argparse.Namespace
) -> None:
    print(
        f"\n{args.cases} cases, {args.connections} connections, {args.seconds} s each, {args.rounds} alternating "
        "rounds (median run shown); server on core 1, wrk on core 0"
    )
    print(
        "| endpoint | bare req/s | bare p50 / p99 ms | Netral req/s | Netral p50 / p99 ms | ratio | ratio per round "
        "| non-2xx | bare CPU µs/request, server / PostgreSQL | Netral CPU µs/request, server / PostgreSQL |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, pair in results.items():
        bare, netral = pair["bare"], pair["netral"]
        rounds = ", ".join(f"{r:.3f}" for r in ratios[label])
        print(
            f"| {label} | {bare['rps']:.0f} | {bare['p50']:.1f} / {bare['p99']:.1f} | {netral['rps']:.0f} | "
            f"{netral['p50']:.1f} / {netral['p99']:.1f} | {statistics.median(ratios[label]):.3f} | {rounds} | "
            f"{netral['non2xx']:.0f} | {cpu(bare)} | {cpu(netral)} |"
        )
    if "floor" in ratios:
        floor = results["case read"]["floor"]
        rounds = ", ".join(f"{r:.3f}" for r in ratios["floor"])
        print(
            f"\nThe framework's floor (bench/floor_app.py: plain FastAPI, the case read's one statement, nothing "
            f"else): {floor['rps']:.0f} req/s, p50 / p99 {floor['p50']:.1f} / {floor['p99']:.1f} ms; "
            f"ratio {statistics.median(ratios['floor']):.3f} ({rounds}); CPU µs per request {cpu(floor)}"
        )


def cpu(run: dict[str, float]) -> str:
    if "server_us" not in run:
        return "-"
    return f"{run['server_us']:.0f} / {run['postgres_us']:.0f}"


if __name__ == "__main__":
    main()
