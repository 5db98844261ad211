"""Growth: does a request cost the same at 10k, 100k and 1M cases and audit rows? And what does
`netral audit verify` cost per million rows? (issue #10)

For each size N, a throwaway PostgreSQL database (migrations, demo seed) with N cases, each with one report
(as in ``request_cost.py``), and N audit rows naming those cases, inserted unchained in bulk SQL. Then, in
this order:
- ``netral audit verify`` (online, a fresh process, as an operator runs it): it first chains the N waiting
  rows (the sealer's own code, the same a server runs) and then verifies the whole chain; timed;
- the same command again: verification alone, the N rows read back from the database and re-hashed; timed;
- ``netral serve`` (one process, pinned to core 1) loaded by wrk (pinned to core 0, 32 connections) on: one
  case by id, a page of 50 cases, and two auditor queries, ``/api/v1/audit/events?object_id=<a case>`` (the
  object index) and ``?action=get_case&agency=KASN`` (a filtered page, chain order).
Printed: req/s and p99 per endpoint and size, each size's throughput against the smallest, and verify's
seconds per million rows. Usage: ``python bench/growth.py [--sizes 10000,100000,1000000] [--seconds 8]``.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import request_cost as rc  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def add_audit_rows(name: str, rows: int) -> None:
    """N unchained rows shaped like the service's (actions, agencies, outcomes spread), each naming one case,
    with their object-index rows: what N requests would have left before the sealer's turn."""
    with psycopg.connect(f"{rc.PG}/{name}", autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO audit_event (at, request_id, agency, client_id, token_id, roles, action, object_ids,
              outcome, status, client_ip)
            SELECT now() - make_interval(secs => %s - n), md5('q' || n), (ARRAY['KASN','APTIKA','BAWASLU'])[n %% 3 + 1],
              'bench', md5('t' || n), 'case_authority',
              (ARRAY['get_case','list_cases','submit_report','transition_case'])[n %% 4 + 1],
              json_build_object('case_id', md5('c' || n)::uuid::text),
              CASE WHEN n %% 17 = 0 THEN 'refused' ELSE 'allowed' END, CASE WHEN n %% 17 = 0 THEN 403 ELSE 200 END,
              '10.20.30.40'
            FROM generate_series(1, %s) AS n
            """,
            (rows, rows),
        )
        conn.execute(
            "INSERT INTO audit_object (value, event_id) "
            "SELECT object_ids->>'case_id', id FROM audit_event WHERE object_ids->>'case_id' IS NOT NULL "
            "ON CONFLICT DO NOTHING"
        )


def analyze(name: str) -> None:
    """Planner statistics of the chained table, as autovacuum keeps them on a live server (statistics taken
    while every row was still unchained would describe ``seq`` as empty)."""
    with psycopg.connect(f"{rc.PG}/{name}", autocommit=True) as conn:
        conn.execute("ANALYZE")


def timed_cli(env: dict[str, str], *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, done.stdout.strip().splitlines()[-1]


def measure(size: int, seconds: int, connections: int) -> dict[str, dict[str, float]]:
    name = rc.make_database(size)
    try:
        clients = rc.seed(name, size)
        add_audit_rows(name, size)
        env = rc.settings_env(name)
        seal_and_verify, said = timed_cli(env, "audit", "verify")
        print(f"  {size}: seal + verify {seal_and_verify:.1f} s ({said})", flush=True)
        analyze(name)
        verify_only, said = timed_cli(env, "audit", "verify")
        print(f"  {size}: verify {verify_only:.1f} s ({said})", flush=True)
        results: dict[str, dict[str, float]] = {
            "audit verify, seal first (s)": {"seconds": seal_and_verify},
            "audit verify (s)": {"seconds": verify_only},
        }
        port = rc.free_port()
        server = rc.start([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            kasn = {"Authorization": f"Bearer {rc.token(base, clients['KASN'])}"}
            itjen = {"Authorization": f"Bearer {rc.token(base, clients['ITJEN'])}"}
            case_id = str(
                uuid.UUID(bytes=bytes.fromhex(hashlib.md5(f"c{size // 2}".encode(), usedforsecurity=False).hexdigest()))
            )
            loads = {
                "case read": (f"/api/v1/cases/{case_id}", kasn),
                "page of 50": ("/api/v1/cases?limit=50", kasn),
                "audit query, object": (f"/api/v1/audit/events?object_id={case_id}", itjen),
                "audit query, filtered": ("/api/v1/audit/events?action=get_case&agency=KASN&limit=100", itjen),
            }
            for label, (path, headers) in loads.items():
                results[label] = rc.wrk(base, rc.lua("GET", path, headers), seconds, connections)
        finally:
            server.terminate()
            server.wait()
        return results
    finally:
        with psycopg.connect(f"{rc.PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    by_size = {}
    for size in sizes:
        print(f"size {size}:", flush=True)
        by_size[size] = measure(size, args.seconds, args.connections)
    first = by_size[sizes[0]]
    print(f"\n{args.connections} connections, {args.seconds} s each; server on core 1, wrk on core 0")
    print("| endpoint | " + " | ".join(f"{s:,} req/s (p99 ms)" for s in sizes) + " | largest / smallest |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for label in [k for k in first if "(s)" not in k]:
        cells = [f"{by_size[s][label]['rps']:.0f} ({by_size[s][label]['p99']:.0f})" for s in sizes]
        errors = sum(by_size[s][label]["non2xx"] for s in sizes)
        ratio = by_size[sizes[-1]][label]["rps"] / first[label]["rps"]
        print(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {ratio:.2f}"
            + (f" ({errors:.0f} non-2xx)" if errors else "")
            + " |"
        )
    for label in [k for k in first if "(s)" in k]:
        cells = [f"{by_size[s][label]['seconds']:.1f}" for s in sizes]
        per_million = by_size[sizes[-1]][label]["seconds"] / sizes[-1] * 1_000_000
        print(f"| {label} | " + " | ".join(cells) + f" | {per_million:.0f} s per million rows |")


if __name__ == "__main__":
    main()
