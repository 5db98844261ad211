from pydantic import BaseModel

from app.auth.deps import AnyPrincipal
from app.catalogues.data import SANCTIONS, SANCTIONS_VERSION, VIOLATIONS, VIOLATIONS_VERSION
from app.core import routes
from app.core.errors import problem_responses

router = routes.router(prefix="/api/v1/catalogues", tags=["catalogues"])


class ViolationEntry(BaseModel):
    code: str
    label_id: str
    label_en: str
    digital: bool


class ViolationCatalogue(BaseModel):
    version: str
    items: list[ViolationEntry]


class SanctionEntry(BaseModel):
    code: str
    track: str
    level: str
    label_id: str
    label_en: str
    regulation: str


class SanctionCatalogue(BaseModel):
    version: str
    items: list[SanctionEntry]


@router.get(
    "/violations",
    operation_id="list_violation_categories",
    response_model=ViolationCatalogue,
    summary="Violation categories with Indonesian and English labels",
    responses=problem_responses(401),
)
def list_violations(_principal: AnyPrincipal) -> ViolationCatalogue:
    return ViolationCatalogue(version=VIOLATIONS_VERSION, items=[ViolationEntry(**v.__dict__) for v in VIOLATIONS])


@router.get(
    "/sanctions",
    operation_id="list_sanctions",
    response_model=SanctionCatalogue,
    summary="Sanction codes by track and level, with legal basis",
    responses=problem_responses(401),
)
def list_sanctions(_principal: AnyPrincipal) -> SanctionCatalogue:
    return SanctionCatalogue(version=SANCTIONS_VERSION, items=[SanctionEntry(**s.__dict__) for s in SANCTIONS])
