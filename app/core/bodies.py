"""JSON request bodies, read as I-JSON (RFC 7493): an object may not name a member twice.

Python's parser keeps the last of two equal names and drops the first without a word. Another reader of
the same bytes — the sender's own log, a proxy, an auditor replaying the request from its body hash — may
keep the first. So a report could be recorded with one category while the agency's system believes it sent
the other. A body with a repeated name is refused with 422, naming the member and where it is, and nothing
is written.

The route class (``app.core.routes``) checks every route that takes a JSON body before FastAPI reads it,
and hands FastAPI the parsed body, so a body is parsed once.
"""

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError


class _Repeated(dict[str, Any]):
    """An object in which ``name`` appeared more than once (kept so the walk below can find where)."""

    name: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    built = dict(pairs)
    if len(built) == len(pairs):
        return built
    repeated = _Repeated(built)
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen:
            repeated.name = name
            break
        seen.add(name)
    return repeated


def _find(parsed: Any) -> tuple[tuple[str | int, ...], str] | None:
    """The path to the first object (depth first, in document order) with a repeated name, and that name.
    A loop, not recursion: whatever depth the parser accepted, the walk does not add to the stack."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), parsed)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Repeated):
            return (*path, value.name), value.name
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend(reversed([((*path, key), child) for key, child in children]))
    return None


def is_json(request: Request) -> bool:
    """FastAPI's own test for a JSON body: ``application/json`` or ``application/*+json``, any parameters."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and "/" not in subtype and (subtype == "json" or subtype.endswith("+json"))


async def read_strictly(request: Request) -> None:
    """Parse a JSON body once, refusing a repeated member name. Malformed JSON is left for FastAPI to report
    as it does; a body that parses is kept on the request, where ``Request.json()`` finds it."""
    if not is_json(request):
        return
    body = await request.body()
    if not body:
        return
    try:
        parsed = json.loads(body, object_pairs_hook=_object)
    except (ValueError, RecursionError):  # malformed, not UTF-8, or nested too deep: FastAPI's own answer
        return
    found = _find(parsed)
    if found is not None:
        path, name = found
        raise RequestValidationError(
            [
                {
                    "type": "duplicate_member",
                    "loc": ("body", *path),
                    "msg": f"The member {name!r} appears more than once in this object; each name may appear "
                    "only once (I-JSON, RFC 7493).",
                    "input": None,
                }
            ]
        )
    request._json = parsed  # Starlette's cache for ``Request.json()``: FastAPI reads the body from here
