"""The bare baseline for ``bench/request_cost.py``: a raw ASGI app on the same driver (psycopg, async, a pool
of connections) sending the same SQL Netral sends for the measured routes, with no auth, audit, feed,
validation or framework. Whatever Netral costs above this is Netral's own.

Usage: ``python bench/bare_app.py --port 8101 --database-url postgresql://...``.
"""

import argparse
import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import uvicorn
from psycopg.rows import dict_row

CASE_BY_ID = "SELECT * FROM case_file WHERE id = %s"
PAGE = "SELECT id, opened_at FROM case_file ORDER BY opened_at, id LIMIT 50"  # the keys, then the rows with children
BARE_INSERT = "INSERT INTO bench_insert (id, body) VALUES (%s, %s)"


class Pool:
    def __init__(self, url: str, size: int) -> None:
        self.url, self.size = url, size
        self.free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self.size):
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row)
            self.free.put_nowait(conn)


def children_sql() -> str:
    from app.cases.loading import _PG_CHILDREN

    return str(_PG_CHILDREN).replace(":ids", "%s")


def encode(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


def make_app(pool: Pool) -> Any:
    children = children_sql()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            if message["type"] == "lifespan.startup":
                await pool.open()
                await send({"type": "lifespan.startup.complete"})
            return
        path, method = scope["path"], scope["method"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        conn = await pool.free.get()
        try:
            if method == "GET" and path.startswith("/case/"):
                rows = await (await conn.execute(CASE_BY_ID, (path.rsplit("/", 1)[1],))).fetchall()
                payload = encode(rows[0] if rows else None)
            elif method == "GET" and path == "/cases":
                cases = await (await conn.execute(PAGE)).fetchall()
                kids = await (await conn.execute(children, ([c["id"] for c in cases],))).fetchall()
                payload = encode({"items": kids})
            else:
                await conn.execute(BARE_INSERT, (uuid.uuid4(), body.decode() or "{}"))
                payload = b'{"ok":true}'
        finally:
            pool.free.put_nowait(conn)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    return app


def serve(make: Callable[[Pool], Any]) -> None:
    """The command line of both baselines (this one and ``bench/floor_app.py``), on the server `netral serve`
    runs on (app/cli.py)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    app = make(Pool(args.database_url, args.pool))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", loop="uvloop", http="httptools")


if __name__ == "__main__":
    serve(make_app)
