"""What an operator must fix before the service can work, in one list: `netral check` prints it and exits
non-zero when it is not empty; `netral serve` refuses to start on the same problems (one line each, no
traceback), except a missing token-signing key, which it creates."""

from sqlalchemy import text
from sqlmodel import Session

from app.auth import keys
from app.cases import routing
from app.core import migrations
from app.core.clock import Clock
from app.core.config import Settings
from app.core.db import make_engine


def problems(settings: Settings, *, clock: Clock, signing_key_required: bool = True) -> list[str]:
    """Database reach, migrations at head, an active signing key, the audit key, the agreements' routing."""
    found: list[str] = []
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            try:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            except Exception as exc:  # noqa: BLE001 - any failure is the answer
                return [f"database: cannot reach {engine.url.render_as_string()}: {type(exc).__name__}"]
            current = migrations.current_revision(session.connection())
            if current != migrations.head_revision():
                return [
                    f"database schema at {current}, code expects {migrations.head_revision()}: run `netral db upgrade`"
                ]
            if signing_key_required and keys.active_key(session) is None:
                found.append("no active token-signing key: run `netral keys rotate`")
            found += [f"routing: {p}" for p in routing.problems(session, now=clock.now())]
    finally:
        engine.dispose()
    if settings.audit_signing_key is None:
        found.append("NETRAL_AUDIT_SIGNING_KEY is not set: audit checkpoints cannot be signed (`netral audit keygen`)")
    return found
