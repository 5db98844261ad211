"""The route class of every router: where a request's work runs.

A plain ``def`` route (the service's routes are synchronous: SQLAlchemy's sync session) runs on a worker
thread, as FastAPI runs it. What FastAPI does with its answer (validate it against the response model,
serialise it) is CPU work that touches no connection; for a ``def`` route FastAPI sends that to a worker
thread too, a second hand-off per request for nothing to wait on. ``Route`` gives FastAPI an ``async``
wrapper of the route instead, which awaits the route on a worker thread: the route's own work still leaves
the event loop, and its answer is handled on the loop. Signature, return annotation and name are the
route's own (``functools.wraps``), so parameters, response model and contract are unchanged.

A route that takes a body reads a JSON body strictly first (``app.core.bodies``: no member named twice).
"""

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.core.bodies import read_strictly


def on_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def route(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return route


class Route(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, on_worker_thread(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            await read_strictly(request)
            return await handler(request)

        return strict


def router(**kwargs: Any) -> APIRouter:
    """``APIRouter`` with the service's ``Route``."""
    return APIRouter(route_class=Route, **kwargs)
