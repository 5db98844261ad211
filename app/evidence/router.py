import hashlib
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.access.policy import Principal
from app.access.roles import REPORTS_WRITE
from app.auth.deps import AnyPrincipal, requires
from app.core import routes
from app.core.config import Settings
from app.core.deps import NowDep, SettingsDep, runtime_of
from app.core.errors import problem_responses
from app.evidence import service
from app.unit_of_work import SessionDep

router = routes.router(prefix="/api/v1/evidence", tags=["evidence"])
EVIDENCE_MEDIA_TYPES: list[str] = Settings.model_fields["evidence_media_types"].default


async def read_evidence_body(request: Request) -> bytes:
    """Read the upload here, asynchronously and bounded, so the route itself can be a plain sync function."""
    limit = runtime_of(request).settings.evidence_max_bytes
    chunks, size, digest = [], 0, hashlib.sha256()
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise service.PayloadTooLarge(f"Evidence files may be at most {limit} bytes.")
        chunks.append(chunk)
        digest.update(chunk)
    request.state.body_sha256 = digest.hexdigest()  # the audit row's body hash (the body is not cached)
    return b"".join(chunks)


EvidenceBody = Annotated[bytes, Depends(read_evidence_body)]


class EvidenceStored(BaseModel):
    sha256: str
    size: int
    media_type: str


@router.post(
    "",
    operation_id="upload_evidence",
    status_code=201,
    response_model=EvidenceStored,
    summary="Upload one evidence file as the raw body; reference its SHA-256 in reports",
    responses=problem_responses(401, 403, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in EVIDENCE_MEDIA_TYPES},
        }
    },
)
def upload_evidence(
    body: EvidenceBody,
    request: Request,
    principal: Annotated[Principal, requires(REPORTS_WRITE)],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> EvidenceStored:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    blob = service.store(session, settings, data=body, media_type=media_type, principal=principal, now=now)
    return EvidenceStored(sha256=blob.sha256, size=blob.size, media_type=blob.media_type)


@router.get(
    "/{sha256}",
    operation_id="download_evidence",
    summary="Download evidence; refused if it no longer matches its hash (409) or was purged (410)",
    response_class=Response,
    responses={
        200: {
            "description": "The file as uploaded, in its own media type (NETRAL_EVIDENCE_MEDIA_TYPES; the "
            "defaults are listed)",
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in EVIDENCE_MEDIA_TYPES},
        },
        **problem_responses(401, 403, 404, 409, 410),
    },
)
def download_evidence(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    principal: AnyPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    blob = service.readable_blob(session, principal, sha256)
    data = service.read_verified(settings, blob)
    return Response(
        data,
        media_type=blob.media_type,
        headers={
            "Digest": f"sha-256={_b64(blob.sha256)}",
            "ETag": f'"{blob.sha256}"',
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _b64(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
