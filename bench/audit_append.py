"""How to chain the audit log: what each way costs writers, on the real PostgreSQL, with the real code.

Several writer *processes* (as several uvicorn workers would be) each run transactions for a fixed time.
One transaction = a representative business write (one row into a scratch table) plus, per mode:

- ``none``        no audit row: the ceiling, measured in the same run as the others.
- ``head_lock``   the first design: the row is chained inside the transaction (``append`` + ``seal`` before
                  commit), so the chain lock is held across every commit and its disk flush.
- ``write``       what a Netral write does: ``append`` in the transaction, commit, then ``seal_through``
                  (take the chain lock unless a concurrent seal already took the row along, seal every
                  committed unsealed row in one batch, commit). The receipt is in hand when it returns.
- ``read``        what a Netral read or refusal does: ``append``, commit, answer. The rows are sealed by a
                  sweeper process running the servers' sweep (``seal_pending`` every 0.25 s).
- ``mixed``       one write in five, the rest reads (an exchange is mostly polling and reading).

Reported per mode: transactions per second over all writers, reply latency p50/p99 (receipt included for
writes), and the ratio against ``none``. Afterwards the chain the run built must verify.

Runs in a throwaway database made by the project's migrations plus one scratch table.
Usage: ``python bench/audit_append.py [--writers 8] [--seconds 8]``.
"""

import argparse
import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.audit import service  # noqa: E402
from app.audit.verify import verify  # noqa: E402
from app.core import migrations  # noqa: E402
from app.core.db import make_engine  # noqa: E402

SERVER = os.environ.get("NETRAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
MODES = ("none", "head_lock", "write", "read", "mixed")


def entry(n: int) -> service.AuditEntry:
    return service.AuditEntry(
        action="submit_report",
        outcome="allowed",
        status=201,
        at=datetime.now(UTC),
        request_id=str(uuid.uuid4()),
        agency="APTIKA",
        client_id="aptika-bench",
        token_id=str(uuid.uuid4()),
        roles="reporter",
        object_ids={"report_ids": [str(uuid.uuid4())], "case_ids": [str(uuid.uuid4())]},
        client_ip="10.0.0.1",
        body_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
    )


def writer(url: str, mode: str, seconds: float, out: "mp.Queue[list[float]]") -> None:
    engine = make_engine(url)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    n = 0
    with Session(engine) as session:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            session.execute(
                text("INSERT INTO bench_business VALUES (:id, now(), :p)"), {"id": uuid.uuid4(), "p": "x" * 200}
            )
            waits = mode == "write" or (mode == "mixed" and n % 5 == 0)
            event_id = None
            if mode == "head_lock":
                service.append(session, entry(n))
                service.seal(session)
            elif mode != "none":
                event_id = service.append(session, entry(n))
            session.commit()
            if event_id is not None and waits:
                service.seal_through(engine, event_id)
            latencies.append(time.perf_counter() - start)
            n += 1
    engine.dispose()
    out.put(latencies)


def sweeper(url: str, stop: "mp.Event") -> None:  # type: ignore[valid-type]
    engine = make_engine(url)
    while not stop.is_set():  # type: ignore[attr-defined]
        service.seal_pending(engine)
        time.sleep(0.25)
    service.seal_pending(engine)
    engine.dispose()


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 100 else max(values)


def run(mode: str, writers: int, seconds: float) -> dict[str, float]:
    name = f"netral_bench_{os.getpid()}_{mode}"
    with psycopg.connect(SERVER + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    try:
        migrations.upgrade(url)
        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_business (id uuid PRIMARY KEY, at timestamptz NOT NULL, payload text)")
        queue: mp.Queue[list[float]] = mp.Queue()
        stop = mp.Event()
        sweep = mp.Process(target=sweeper, args=(url, stop)) if mode in ("read", "mixed") else None
        if sweep:
            sweep.start()
        procs = [mp.Process(target=writer, args=(url, mode, seconds, queue)) for _ in range(writers)]
        for p in procs:
            p.start()
        latencies = [x for _ in procs for x in queue.get()]
        for p in procs:
            p.join()
        if sweep:
            stop.set()
            sweep.join()
        if mode != "none":  # the chain the writers built must verify, every row in it
            engine = make_engine(url, sqlite_immediate=False)
            with Session(engine) as session:
                report = verify(service.as_export(e) for e in service.iter_events(session))
            engine.dispose()
            assert report.ok and report.rows == len(latencies), report.summary()
        return {
            "tx_per_s": len(latencies) / seconds,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
        }
    finally:
        with psycopg.connect(SERVER + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    print(f"PostgreSQL at {SERVER}; {args.seconds:.0f} s per mode; {os.cpu_count()} CPUs")
    print(f"{'writers':>7} {'mode':<10} {'tx/s':>7} {'vs none':>8} {'reply p50':>10} {'p99':>9}")
    for writers in args.writers:
        results = {mode: run(mode, writers, args.seconds) for mode in MODES}
        base = results["none"]["tx_per_s"]
        for mode, r in results.items():
            print(
                f"{writers:>7} {mode:<10} {r['tx_per_s']:>7.0f} {r['tx_per_s'] / base:>7.2f}x "
                f"{r['p50_ms']:>8.1f}ms {r['p99_ms']:>7.1f}ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
