"""What every operator command shares: one transaction per action (the operator's unit of work), with its
feed events and its audit row in it."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NoReturn

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app.audit import checkpoints, flood
from app.audit import service as audit
from app.core.clock import Clock
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.events import service as events

clock = Clock()


@contextmanager
def transaction(action: str, **objects: str) -> Iterator[tuple[Session, Settings]]:
    """One transaction per operator action, and its audit row in it (a refused action is audited in a
    transaction of its own). Commands add the ids they create to ``session.info["audit_objects"]``."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            session.info["audit_objects"] = dict(objects)
            try:
                yield session, settings
                events.publish(session)
                event_id = _audit(session, action, "allowed", 0)
                session.commit()
            except BaseException:
                events.discard(session)
                session.rollback()
                with Session(engine) as own:
                    refused_id = _audit(own, action, "refused", 1, session.info.get("audit_objects", {}))
                    own.commit()
                _seal(engine, refused_id)
                raise
        _seal(engine, event_id)
    finally:
        engine.dispose()


def seal_audit_log() -> int:
    """Seal every audit row committed so far (no request waits for its row's seal), before a command reads
    the log; flood windows that have closed become their summary rows first. Returns rows sealed."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        flood.close(engine, before=clock.now() - timedelta(seconds=settings.rate_window_seconds))
        return audit.seal_pending(engine)
    finally:
        engine.dispose()


def anchor_audit_head() -> None:
    """Sign the chain's head when it moved since the last checkpoint (before an export)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        checkpoints.anchor_head(engine, settings, clock.now())
    finally:
        engine.dispose()


def _seal(engine: Engine, event_id: int) -> None:
    audit.seal_through(engine, event_id)


def _audit(session: Session, action: str, outcome: str, code: int, objects: dict[str, str] | None = None) -> int:
    return audit.append(
        session,
        audit.AuditEntry(
            action=f"cli:{action}",
            outcome=outcome,
            status=code,
            at=clock.now(),
            agency="operator",
            roles="operator",
            object_ids=objects if objects is not None else session.info.get("audit_objects", {}),
        ),
    )


def fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)
