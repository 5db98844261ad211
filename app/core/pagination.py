"""Opaque keyset cursors: a base64url JSON position, never an offset."""

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query

from app.core.errors import FieldError, ValidationProblem

MAX_PAGE_SIZE = 200
MAX_POSITION = 2**63 - 1  # positions are BIGINT: a larger one is not a cursor this service issued

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]


def encode_cursor(*position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int, name: str = "cursor") -> list[Any]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        position = None
    if not isinstance(position, list) or len(position) != arity:
        raise ValidationProblem(
            "The cursor is not one this service issued.",
            errors=[FieldError(pointer=f"/query/{name}", detail="invalid cursor")],
        )
    return position


def decode_position(cursor: str | None, name: str = "cursor") -> int:
    """A cursor that holds one non-negative integer position (feed position, audit seq); 0 when absent."""
    if not cursor:
        return 0
    (position,) = decode_cursor(cursor, 1, name=name)
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= MAX_POSITION:
        decode_cursor("", 1, name=name)  # raises the invalid-cursor problem
    return position


def encode_time_id(at: datetime, row_id: uuid.UUID) -> str:
    return encode_cursor(at.isoformat(), str(row_id))


def decode_time_id(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, row_id = decode_cursor(cursor, 2)
    try:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment.astimezone(UTC), uuid.UUID(row_id)
    except (TypeError, ValueError, OverflowError):
        raise ValidationProblem(
            "The cursor is not one this service issued.",
            errors=[FieldError(pointer="/query/cursor", detail="invalid cursor")],
        ) from None
