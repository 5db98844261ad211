"""The framework's floor for ``bench/request_cost.py``: plain FastAPI, on the same server, driver and pool as
the bare baseline (``bench/bare_app.py``), answering the case read with its one statement and nothing else:
no middleware, no token, no audit row, no view. What it costs above the bare app is the framework's own
(routing, parameter validation, dependency solving, JSON rendering); what Netral costs above it is Netral's.

Usage: ``python bench/floor_app.py --port 8103 --database-url postgresql://...``.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bare_app import CASE_BY_ID, Pool, serve
from fastapi import FastAPI, HTTPException


def make_app(pool: Pool) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/case/{case_id}")
    async def case(case_id: uuid.UUID) -> dict[str, Any]:
        conn = await pool.free.get()
        try:
            rows = await (await conn.execute(CASE_BY_ID, (case_id,))).fetchall()
        finally:
            pool.free.put_nowait(conn)
        if not rows:
            raise HTTPException(404)
        return rows[0]

    return app


if __name__ == "__main__":
    serve(make_app)
