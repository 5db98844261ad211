"""Content-addressed evidence files: stored under their SHA-256, re-checked on every read."""

import functools
import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.access import policy
from app.access.policy import Principal
from app.core import programs
from app.core.config import Settings
from app.core.db import in_list
from app.core.errors import NotFound, ProblemError, ValidationProblem
from app.core.programs import Program, Step
from app.evidence.models import EvidenceBlob, EvidenceLink

SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF-",),
    "video/mp4": (),  # checked below: 'ftyp' at offset 4
    "image/webp": (b"RIFF",),
    "text/html": (),
}


class EvidenceTampered(ProblemError):
    slug, status = "evidence-tampered", 409


class EvidencePurged(ProblemError):
    slug, status = "evidence-purged", 410


class PayloadTooLarge(ProblemError):
    slug, status = "payload-too-large", 413


class UnsupportedMediaType(ProblemError):
    slug, status = "unsupported-media-type", 415


def path_for(settings: Settings, sha256: str) -> Path:
    return Path(settings.evidence_dir) / sha256[:2] / sha256[2:4] / sha256


def check_content(settings: Settings, data: bytes, media_type: str) -> None:
    if len(data) > settings.evidence_max_bytes:
        raise PayloadTooLarge(f"Evidence files may be at most {settings.evidence_max_bytes} bytes.")
    if not data:
        raise ValidationProblem("The file is empty.")
    if media_type not in settings.evidence_media_types:
        raise UnsupportedMediaType(f"Accepted types: {', '.join(settings.evidence_media_types)}.")
    if not _looks_like(data, media_type):
        raise UnsupportedMediaType(f"The file's content is not {media_type}.")


def _looks_like(data: bytes, media_type: str) -> bool:
    if media_type == "video/mp4":
        return data[4:8] == b"ftyp"
    if media_type == "image/webp":
        return data.startswith(b"RIFF") and data[8:12] == b"WEBP"
    if media_type == "text/html":
        head = data[:1024].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta"))
    return any(data.startswith(sig) for sig in SIGNATURES[media_type])


def store(
    session: Session, settings: Settings, *, data: bytes, media_type: str, principal: Principal, now: datetime
) -> EvidenceBlob:
    check_content(settings, data, media_type)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = session.get(EvidenceBlob, sha256)
    _write_file(path_for(settings, sha256), data)
    if existing is not None:
        return existing
    blob = EvidenceBlob(
        sha256=sha256, size=len(data), media_type=media_type, uploaded_by_agency_id=principal.agency_id, uploaded_at=now
    )
    session.add(blob)
    session.flush()
    return blob


def _write_file(target: Path, data: bytes) -> None:
    """Atomic and durable: written to a temporary file, fsynced, renamed. Same hash, same bytes: rewriting an
    existing file also repairs one that was damaged."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def readable_blob(session: Session, principal: Principal, sha256: str) -> EvidenceBlob:
    """Uploader agency, or the case authority for evidence linked to a case. Anyone else: 404."""
    blob = session.exec(policy.evidence_readable(principal, sha256)).first()
    if blob is None:
        raise NotFound("No such evidence.")
    return blob


def read_verified(settings: Settings, blob: EvidenceBlob) -> bytes:
    if blob.purged_at is not None:
        raise EvidencePurged(f"This evidence was deleted by the retention purge at {blob.purged_at.isoformat()}.")
    try:
        data = path_for(settings, blob.sha256).read_bytes()
    except FileNotFoundError as exc:
        raise EvidenceTampered("The stored evidence file is missing.") from exc
    if hashlib.sha256(data).hexdigest() != blob.sha256 or len(data) != blob.size:
        raise EvidenceTampered("The stored evidence file no longer matches its SHA-256; it is withheld.")
    return data


def owned_blobs(session: Session, principal: Principal, hashes: list[str]) -> dict[str, EvidenceBlob]:
    """The caller agency's uploads among these hashes."""
    return programs.run(session, owned_blobs_program(session.get_bind().dialect.name, principal, hashes))


def owned_blobs_program(dialect: str, principal: Principal, hashes: list[str]) -> Program[dict[str, EvidenceBlob]]:
    if not hashes:
        return {}
    rows = yield Step(_owned(dialect), {"agency_id": principal.agency_id, "hashes": hashes})
    return {row["sha256"]: EvidenceBlob.model_validate(row) for row in rows}


@functools.cache
def _owned(dialect: str) -> Any:
    table = EvidenceBlob.__table__  # type: ignore[attr-defined]
    return sa.select(table).where(
        in_list(table.c.sha256, "hashes", dialect), table.c.uploaded_by_agency_id == bindparam("agency_id")
    )


def links_for_reports(session: Session, report_ids: list[object]) -> dict[object, list[EvidenceLink]]:
    found: dict[object, list[EvidenceLink]] = {rid: [] for rid in report_ids}
    if report_ids:
        for link in session.exec(select(EvidenceLink).where(col(EvidenceLink.report_id).in_(report_ids))):
            found[link.report_id].append(link)
    return found


def links_with_blobs(
    session: Session, report_ids: list[object]
) -> tuple[dict[object, list[EvidenceLink]], dict[str, EvidenceBlob]]:
    """Evidence of many reports in two queries: the links per report, and the blobs they point at."""
    links = links_for_reports(session, report_ids)
    hashes = [link.sha256 for ls in links.values() for link in ls]
    blobs = {b.sha256: b for b in session.exec(select(EvidenceBlob).where(col(EvidenceBlob.sha256).in_(hashes)))}
    return links, blobs
