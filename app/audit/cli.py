"""``netral audit …``: checkpoints, exports and verification, online and offline."""

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, select

from app.audit import checkpoints, service
from app.audit.models import AuditHead
from app.audit.verify import Report, verify
from app.core.config import get_settings
from app.core.db import make_engine
from app.operator import anchor_audit_head, clock, fail, seal_audit_log, transaction

audit_cli = typer.Typer(help="The audit log: checkpoints, exports, verification", no_args_is_help=True)

ExportOption = Annotated[Path | None, typer.Option("--export", help="JSON Lines export to verify offline")]
CheckpointsOption = Annotated[
    Path | None, typer.Option("--checkpoints", help="checkpoints file (JSON Lines, or a JSON array)")
]
PublicKeyOption = Annotated[
    Path | None, typer.Option("--public-key", help="audit public key: PEM, or GET /api/v1/audit/public-key's JSON")
]


@audit_cli.command("keygen")
def keygen() -> None:
    """Print a new Ed25519 audit signing key (for NETRAL_AUDIT_SIGNING_KEY) and its public key."""
    seed = checkpoints.new_private_seed()
    typer.echo(f"NETRAL_AUDIT_SIGNING_KEY={seed}")
    key = checkpoints.Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
    typer.echo(checkpoints.public_pem(key.public_key()), err=True)


@audit_cli.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the chain's current head now."""
    with transaction("audit.checkpoint") as (session, settings):
        try:
            key = checkpoints.private_key(settings)
        except checkpoints.AuditKeyMissing as exc:
            fail(str(exc))
        made = checkpoints.make(session, key, clock.now())
        assert made is not None
        session.info["audit_objects"]["checkpoint"] = str(made.id)
        document = checkpoints.as_document(made)
    typer.echo(json.dumps(document, indent=2))


@audit_cli.command("public-key")
def public_key() -> None:
    """Print the audit public key (PEM) that verifies the checkpoints."""
    try:
        key = checkpoints.private_key(get_settings())
    except checkpoints.AuditKeyMissing as exc:
        fail(str(exc))
    typer.echo(checkpoints.public_pem(key.public_key()), nl=False)


@audit_cli.command("export")
def export(
    out: Annotated[Path, typer.Option(help="write the rows here, one JSON object per line")],
    checkpoints_out: Annotated[Path | None, typer.Option(help="also write every checkpoint here")] = None,
    from_seq: Annotated[int, typer.Option(min=1)] = 1,
    to_seq: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Export rows FROM_SEQ..TO_SEQ (default: all) as JSON Lines, for offline verification."""
    count = 0
    objects = {"from_seq": str(from_seq), "to_seq": str(to_seq or "")}
    seal_audit_log()  # everything committed so far joins the chain before it is exported
    anchor_audit_head()  # and the export ends on a signed head: a later cut of the tail fails offline verification
    with (
        transaction("audit.export", **objects) as (_session, settings),
        _read_session(settings.database_url) as session,
        out.open("w", encoding="utf-8") as handle,
    ):
        # Checkpoints first: the rows read after them reach at least every size they sign.
        signed = checkpoints.all_in_order(session)
        for event in service.iter_events(session, from_seq=from_seq, to_seq=to_seq):
            handle.write(service.export_line(event) + "\n")
            count += 1
        if checkpoints_out is not None:
            checkpoints_out.write_text("".join(checkpoints.export_line(c) + "\n" for c in signed), encoding="utf-8")
    typer.echo(f"exported {count} rows to {out}")


@audit_cli.command("verify")
def audit_verify(
    export: ExportOption = None,
    checkpoints_file: CheckpointsOption = None,
    public_key_file: PublicKeyOption = None,
    partial: Annotated[
        bool, typer.Option(help="the export is a range: need not start at row 1 nor reach the newest checkpoint")
    ] = False,
) -> None:
    """Check the hash chain and the signed checkpoints; name the first row or checkpoint that does not match.

    Offline (--export, with --checkpoints and --public-key): no database is needed. Online (no --export): the
    rows and checkpoints come from the database, the public key from --public-key or from the configured
    signing key. Exit code 0 only when everything verifies."""
    key = checkpoints.load_public_key(public_key_file.read_text()) if public_key_file else None
    if export is not None:
        cps = _read_checkpoints(checkpoints_file) if checkpoints_file else []
        report = verify(_read_rows(export), cps, key, full=not partial)
    else:
        report = _verify_online(key)
    if not report.ok:
        typer.secho(report.summary(), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    typer.echo(report.summary())


def _verify_online(key: Any) -> Report:
    settings = get_settings()
    if key is None and settings.audit_signing_key is not None:
        key = checkpoints.private_key(settings).public_key()
    # Committed rows nobody had chained yet (a process stopped between its commit and the sweep) are sealed
    # first, and said: the verdict covers every committed row, and the operator learns they were waiting.
    waiting = seal_audit_log()
    with _read_session(settings.database_url) as session:
        # Head and checkpoints first: rows sealed meanwhile only make the table longer than they say.
        size = session.exec(select(AuditHead.seq).where(AuditHead.id == 1)).one()
        signed = checkpoints.all_in_order(session)
        cps = [checkpoints.as_document(c) for c in signed]
        report = verify((service.as_export(e) for e in service.iter_events(session)), cps, key)
    if report.ok and size > (report.last_seq or 0):
        report.fail(
            f"the chain head records {size} rows, the table holds {report.rows} (truncated tail)",
            seq=(report.last_seq or 0) + 1,
        )
    if waiting:
        report.notes.append(f"{waiting} committed row(s) were not yet chained; sealed them before verifying")
    with transaction("audit.verify", outcome="ok" if report.ok else f"broken at {report.bad_seq}"):
        pass
    return report


@contextmanager
def _read_session(url: str) -> Iterator[Session]:
    """A plain read session on its own engine: long reads never hold SQLite's write lock."""
    engine = make_engine(url, sqlite_immediate=False)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    fail(f"{path}:{number} is not a JSON object")


def _read_checkpoints(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        return list(json.loads(text))
    if text.startswith("{") and '"items"' in text.split("\n", 1)[0] and "\n" not in text:
        return list(json.loads(text)["items"])
    return [json.loads(line) for line in text.splitlines() if line.strip()]
