from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from app.auth import keys
from app.cases import routing
from app.core import migrations, routes
from app.core.deps import RuntimeDep
from app.core.errors import ServiceUnavailable, problem_responses

router = routes.router(tags=["operations"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", operation_id="get_health", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="get_readiness",
    summary="Readiness: database reachable, migrations at head, signing key loaded; audit key and case routing "
    "reported (degraded, still serving, when either needs the operator)",
    response_model=Health,
    responses=problem_responses(503),
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        with Session(runtime.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            current = migrations.current_revision(session.connection())
            if current != migrations.head_revision():
                raise ServiceUnavailable(
                    f"database schema at {current}, code expects {migrations.head_revision()}",
                    headers={"Retry-After": "5"},
                )
            key = keys.active_key(session)
            if key is None:
                raise ServiceUnavailable("no active signing key", headers={"Retry-After": "5"})
            keys.signer(runtime).sign(key, {"probe": True})  # proves the private key unwraps with this secret
            routing_problems = routing.problems(session, now=runtime.clock.now())
    except ServiceUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here means "not ready"
        raise ServiceUnavailable(f"not ready: {type(exc).__name__}", headers={"Retry-After": "5"}) from exc
    # A routing problem refuses new reports only; reads and case work go on, so the process stays in rotation
    # and says what the operator must fix.
    # Without the audit key checkpoints go unsigned: the log still chains, so the process stays in rotation
    # and says so, as `netral check` does.
    audit_key = "ok" if runtime.settings.audit_signing_key is not None else "NETRAL_AUDIT_SIGNING_KEY is not set"
    checks = {
        "database": "ok",
        "migrations": "head",
        "signing_key": key.kid,
        "audit_key": audit_key,
        "routing": "; ".join(routing_problems) or "ok",
    }
    degraded = bool(routing_problems) or audit_key != "ok"
    return JSONResponse(Health(status="degraded" if degraded else "ready", checks=checks).model_dump())
