"""``netral``: the operator's command line. Every action runs in one transaction."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import col, select

from app import demo
from app.agencies import service as agencies
from app.agencies.models import Role
from app.agreements import service as agreements_service
from app.agreements.models import Agreement
from app.audit.cli import audit_cli
from app.auth import clients, keys
from app.cases import routing
from app.core import migrations
from app.core.config import get_settings
from app.operator import clock, fail, seal_audit_log, transaction
from app.succession import service as succession

cli = typer.Typer(help="Netral operator CLI", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema", no_args_is_help=True)
agencies_cli = typer.Typer(help="Agencies and their roles", no_args_is_help=True)
clients_cli = typer.Typer(help="API clients of agencies", no_args_is_help=True)
keys_cli = typer.Typer(help="Token-signing keys", no_args_is_help=True)
agreements_cli = typer.Typer(help="Cooperation agreements", no_args_is_help=True)
for sub, name in (
    (db_cli, "db"),
    (agencies_cli, "agencies"),
    (clients_cli, "clients"),
    (keys_cli, "keys"),
    (agreements_cli, "agreements"),
    (audit_cli, "audit"),
):
    cli.add_typer(sub, name=name)

# ---- db ----


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to REVISION (default: head)."""
    migrations.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. base")]) -> None:
    migrations.downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


# ---- serve / demo ----


@cli.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API with uvicorn."""
    import os

    import uvicorn

    from app import checks
    from app.core.logging import configure_logging
    from app.core.supervision import SERVED_ENV, SUPERVISOR_ENV

    settings = get_settings()
    configure_logging(settings.log_level)
    blocking = [p for p in checks.problems(settings, clock=clock, signing_key_required=False) if _blocks(p)]
    if blocking:
        for problem in blocking:
            typer.secho(f"error: cannot serve: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    _ensure_signing_key()
    if settings.metrics_port is not None:
        _serve_metrics(host, settings.metrics_port)
    os.environ[SERVED_ENV] = "1"  # for this process and its workers (app/core/supervision.py)
    if workers > 1:
        os.environ[SUPERVISOR_ENV] = str(os.getpid())  # workers die with this process (app/core/supervision.py)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",  # libuv's loop and the C HTTP parser, not asyncio's and h11 (bench/README.md, seventh pass)
        http="httptools",
        log_config=None,
        proxy_headers=False,
        server_header=False,
    )


def _serve_metrics(host: str, port: int) -> None:
    """Before any worker starts: a fresh directory for every process's counters (prometheus-client reads it
    when first imported), removed at exit; then the metrics port, in this process."""
    import atexit
    import os
    import shutil
    import tempfile

    from app.core.db import make_engine
    from app.core.metrics import MULTIPROC_ENV

    directory = tempfile.mkdtemp(prefix="netral-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    from app import observability

    observability.serve(host, port, make_engine(get_settings().database_url, pool_size=1, max_overflow=1), clock)


@cli.command("housekeeping")
def housekeeping_now() -> None:
    """Prune expired idempotency records, revocations and used client assertions now (the server does it
    every NETRAL_HOUSEKEEPING_INTERVAL_SECONDS)."""
    from app import housekeeping
    from app.core.db import make_engine

    engine = make_engine(get_settings().database_url)
    pruned = housekeeping.sweep(engine, get_settings(), now=clock.now())
    if not pruned.ran:
        typer.echo("another process is doing housekeeping; nothing done")
        return
    typer.echo("pruned: " + ", ".join(f"{table} {count}" for table, count in pruned.rows.items()))


@cli.command("check")
def check() -> None:
    """Validate settings, database reach, migrations at head, signing keys, the audit key and the agreements'
    routing; exit 1 with the list of what to fix."""
    from app import checks

    found = checks.problems(get_settings(), clock=clock)
    for problem in found:
        typer.secho(f"problem: {problem}", fg=typer.colors.RED, err=True)
    if found:
        raise typer.Exit(code=1)
    typer.echo("ok: settings, database, migrations, signing key, audit key and routing")


@cli.command("demo")
def demo_seed(
    reset_secrets: Annotated[bool, typer.Option(help="issue new secrets for the demo clients")] = False,
) -> None:
    """Seed demo agencies, the 2024 PKS, a demo agreement from today, a signing key and demo clients."""
    with transaction("demo") as (session, settings):
        seeded = demo.seed(session, settings=settings, now=clock.now(), reset_secrets=reset_secrets)
    typer.echo("Demo clients (secrets are shown once; `netral demo --reset-secrets` issues new ones):")
    for c in seeded:
        secret = c.secret or "(unchanged — shown when first created)"
        typer.echo(f"  {c.agency_code:<8} client_id={c.client_id}  client_secret={secret}  scopes={' '.join(c.scopes)}")


# ---- agencies ----


@agencies_cli.command("create")
def agencies_create(
    code: str,
    name: Annotated[str, typer.Option()],
    role: Annotated[list[Role], typer.Option(help="repeat for several roles")],
) -> None:
    with transaction("agencies.create", code=code) as (session, _settings):
        try:
            agency = agencies.create(session, code=code, name=name, roles=role, now=clock.now())
        except agencies.AgencyError as exc:
            fail(str(exc))
        typer.echo(f"created agency {agency.code}")


@agencies_cli.command("list")
def agencies_list() -> None:
    with transaction("agencies.list") as (session, _settings):
        for agency, roles in agencies.list_all(session, now=clock.now()):
            typer.echo(f"{agency.code:<10} {','.join(sorted(roles)) or '-':<30} {agency.name}")


@agencies_cli.command("transfer-role")
def agencies_transfer_role(
    role: Annotated[Role, typer.Option()],
    source: Annotated[str, typer.Option("--from")],
    successor: Annotated[str, typer.Option("--to")],
) -> None:
    """Succession: move a role (e.g. case_authority, KASN → BKN), the agreements and the custody of open
    cases, in one audited transaction; effective on the next request."""
    with transaction("agencies.transfer-role", role=role.value, source=source, successor=successor) as (
        session,
        _settings,
    ):
        try:
            done = succession.transfer_role(
                session,
                role=role,
                source=agencies.require_by_code(session, source),
                successor=agencies.require_by_code(session, successor),
                now=clock.now(),
            )
        except agencies.AgencyError as exc:
            fail(str(exc))
    typer.echo(f"role {role.value} moved from {done.source} to {done.successor}")
    typer.echo(f"agreements joined by {done.successor}: {', '.join(done.agreements_joined) or 'none (party already)'}")
    typer.echo(f"open cases moved into {done.successor}'s custody: {len(done.cases_moved)}")


# ---- clients ----


@clients_cli.command("create")
def clients_create(
    agency: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    scope: Annotated[list[str], typer.Option(help="repeat for several scopes")],
    jwk: Annotated[Path | None, typer.Option(help="public JWK file: private_key_jwt instead of a secret")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a client. Its secret is printed exactly once."""
    public_jwk = json.loads(jwk.read_text()) if jwk else None
    with transaction("clients.create", agency=agency) as (session, settings):
        try:
            created = clients.create(
                session,
                settings=settings,
                agency=agencies.require_by_code(session, agency),
                name=name,
                scopes=scope,
                public_jwk=public_jwk,
                now=clock.now(),
            )
        except (agencies.AgencyError, clients.ClientError) as exc:
            fail(str(exc))
        session.info["audit_objects"]["client_id"] = created.client.client_id
    result = {"client_id": created.client.client_id, "client_secret": created.secret}
    typer.echo(json.dumps(result) if as_json else "\n".join(f"{k}: {v}" for k, v in result.items()))


@clients_cli.command("list")
def clients_list() -> None:
    with transaction("clients.list") as (session, _settings):
        for c in clients.list_for(session):
            state = "disabled" if c.disabled_at else "enabled"
            auth = "private_key_jwt" if c.public_jwk else "secret"
            typer.echo(f"{c.client_id:<28} {state:<9} {auth:<16} {' '.join(c.scopes)}  {c.name}")


@clients_cli.command("disable")
def clients_disable(client_id: str) -> None:
    """Disable a client: its tokens stop working on the next request."""
    with transaction("clients.disable", client_id=client_id) as (session, _settings):
        try:
            clients.disable(session, client_id=client_id, now=clock.now())
        except clients.ClientError as exc:
            fail(str(exc))
    typer.echo(f"client {client_id} disabled")


# ---- keys ----


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """New tokens are signed with a new key; the previous key verifies until its tokens have expired."""
    with transaction("keys.rotate") as (session, settings):
        key = keys.rotate(session, settings=settings, now=clock.now())
    typer.echo(f"active key: {key.kid}")


@keys_cli.command("retire")
def keys_retire(kid: str) -> None:
    """Retire a key now (e.g. compromise): tokens it signed are refused from this moment."""
    with transaction("keys.retire", kid=kid) as (session, _settings):
        if not keys.retire_now(session, kid=kid, now=clock.now()):
            fail(f"no key {kid!r}")
    typer.echo(f"key {kid} retired")


@keys_cli.command("list")
def keys_list() -> None:
    with transaction("keys.list") as (session, _settings):
        active = keys.active_key(session)
        for key in keys.published_keys(session, now=clock.now()):
            mark = "active" if active and key.kid == active.kid else f"verify-only until {key.retire_at}"
            typer.echo(f"{key.kid:<24} {key.alg:<6} {mark}")


# ---- agreements ----


@agreements_cli.command("show")
def agreements_show() -> None:
    """Agreements, their state and parties, and any case-routing problem (exit 1 when there is one)."""

    with transaction("agreements.show") as (session, _settings):
        now = clock.now()
        for a in session.exec(select(Agreement).order_by(col(Agreement.valid_from))):
            state = agreements_service.state_of(a, now).value
            demo_mark = " [DEMO]" if a.is_demo else ""
            typer.echo(
                f"{a.code:<24} {state:<10} {a.valid_from:%Y-%m-%d %H:%M%z} → {a.valid_until:%Y-%m-%d %H:%M%z}"
                f" wind-down {a.wind_down_days}d, retention {a.retention_days}d{demo_mark}"
            )
            typer.echo(f"{'':<24} parties: {', '.join(agreements_service.party_codes(session, a)) or '-'}")
        problems = routing.problems(session, now=now)
    for problem in problems:
        typer.secho(f"routing problem: {problem}", fg=typer.colors.RED, err=True)
    if problems:
        raise typer.Exit(code=1)


@agreements_cli.command("add-party")
def agreements_add_party(code: str, agency: Annotated[str, typer.Option(help="agency code")]) -> None:
    """Make an agency a party to an agreement (e.g. one created after the agreement was recorded)."""
    with transaction("agreements.add-party", code=code, agency=agency) as (session, _settings):
        try:
            agreements_service.add_party(session, agreement_code=code, agency=agencies.require_by_code(session, agency))
        except (agencies.AgencyError, agreements_service.AgreementError) as exc:
            fail(str(exc))
        problems = routing.problems(session, now=clock.now())
    typer.echo(f"{agency.upper()} is a party to {code}")
    for problem in problems:
        typer.secho(f"routing problem: {problem}", fg=typer.colors.RED, err=True)


@agreements_cli.command("create")
def agreements_create(
    code: str,
    title: Annotated[str, typer.Option()],
    valid_from: Annotated[datetime, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"])],
    valid_until: Annotated[datetime, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"])],
    party: Annotated[list[str], typer.Option(help="agency code; repeat")],
    wind_down_days: int = 0,
    retention_days: int = 365,
) -> None:
    """Record an agreement (dates without a zone are UTC)."""
    from app.agreements.models import AgreementParty

    with transaction("agreements.create", code=code) as (session, _settings):
        agreement = Agreement(
            code=code,
            title=title,
            valid_from=_aware(valid_from),
            valid_until=_aware(valid_until),
            wind_down_days=wind_down_days,
            retention_days=retention_days,
            created_at=clock.now(),
        )
        session.add(agreement)
        session.flush()
        try:
            for code_ in party:
                session.add(
                    AgreementParty(agreement_id=agreement.id, agency_id=agencies.require_by_code(session, code_).id)
                )
        except agencies.AgencyError as exc:
            fail(str(exc))
    typer.echo(f"agreement {code} recorded")


@agreements_cli.command("extend")
def agreements_extend(
    code: str,
    region: Annotated[str, typer.Option(help="Kemendagri region code, e.g. 32.73")],
    until: Annotated[datetime, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"])],
    reason: Annotated[str, typer.Option()],
) -> None:
    """Keep one region's cases open past valid_until (e.g. a court-ordered re-vote)."""

    from app.reports.fields import validate_region_code

    with transaction("agreements.extend", code=code, region=region) as (session, _settings):
        agreement = session.exec(select(Agreement).where(Agreement.code == code)).first()
        if agreement is None:
            fail(f"no agreement {code!r}")
        try:
            validate_region_code(region)
        except ValueError as exc:
            fail(str(exc))
        agreements_service.extend(session, agreement, region_code=region, valid_until=_aware(until), reason=reason)
    typer.echo(f"agreement {code} extended for region {region} until {until:%Y-%m-%d}")


retention_cli = typer.Typer(help="Retention of personal data", no_args_is_help=True)
subject_cli = typer.Typer(help="Data-subject requests", no_args_is_help=True)
cli.add_typer(retention_cli, name="retention")
cli.add_typer(subject_cli, name="subject")


@retention_cli.command("purge")
def retention_purge(dry_run: Annotated[bool, typer.Option("--dry-run")] = False) -> None:
    """Close administratively the open cases no agreement lets anyone work on any more (reason recorded), then
    anonymise closed cases whose agreement's retention period has ended; idempotent."""
    from app.retention import service as retention

    with transaction("retention.purge") as (session, settings):
        result = retention.purge(session, settings, now=clock.now(), dry_run=dry_run)
        session.info["audit_objects"].update(
            dry_run=str(dry_run), closed=str(result.closed), cases=str(result.cases), reports=str(result.reports)
        )
    typer.echo(f"{'would close' if dry_run else 'closed'} administratively: {result.closed} open case(s)")
    prefix = "would purge" if dry_run else "purged"
    typer.echo(
        f"{prefix}: {result.cases} case(s), {result.reports} report(s), "
        f"{result.evidence_files} evidence file(s), {result.idempotency_records} stored response(s)"
    )


@subject_cli.command("export")
def subject_export(nip: Annotated[str, typer.Option(help="NIP or NI PPPK")]) -> None:
    """Everything held about one civil servant, as JSON."""
    from app.retention import service as retention

    seal_audit_log()  # the access trail includes every read committed so far
    # The audit row names the person by a keyed pseudonym (never an unkeyed hash of the NIP, which anyone could
    # reverse by enumerating NIPs) and by the ids of the reports and cases it covered.
    with transaction("subject.export") as (session, settings):
        exported = retention.subject_export(session, identifier=nip)
        session.info["audit_objects"].update(
            subject_ref=retention.subject_pseudonym(settings, nip),
            report_ids=[r["id"] for r in exported["reports"]],
            case_ids=[c["id"] for c in exported["cases"]],
        )
        typer.echo(json.dumps(exported, indent=2, ensure_ascii=False))


def _blocks(problem: str) -> bool:
    """The database must be reachable and migrated; routing and audit-key problems are served and reported."""
    return problem.startswith(("database", "database schema"))


def _ensure_signing_key() -> None:
    """A service without a token-signing key would answer 500 at the token endpoint: make one (audited)."""
    with transaction("keys.ensure") as (session, settings):
        if keys.active_key(session) is None:
            key = keys.rotate(session, settings=settings, now=clock.now())
            typer.echo(f"no token-signing key was active: created {key.kid}")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main() -> None:
    """Settings errors are told in one line each, never as a traceback."""
    from pydantic import ValidationError

    try:
        cli()
    except ValidationError as exc:
        for error in exc.errors():
            field = "NETRAL_" + "_".join(str(part) for part in error["loc"]).upper()
            typer.secho(f"error: configuration: {field}: {error['msg']}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
