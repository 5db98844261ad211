"""Seed data for a newcomer: the four agencies of the 2024 PKS, the agreement itself, a clearly labelled
demo agreement valid from today, a signing key, and one client per agency."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session, select

from app.access.roles import ROLE_SCOPES
from app.agencies import service as agencies
from app.agencies.models import Agency, Role
from app.agreements.models import Agreement, AgreementParty
from app.auth import clients, keys
from app.auth.models import ApiClient
from app.core.config import Settings

WIB = timezone(timedelta(hours=7))

DEMO_AGENCIES = [
    ("APTIKA", "Direktorat Jenderal Aplikasi Informatika, Kementerian Kominfo", Role.reporter),
    ("KASN", "Komisi Aparatur Sipil Negara", Role.case_authority),
    ("BAWASLU", "Badan Pengawas Pemilihan Umum", Role.observer),
    ("ITJEN", "Inspektorat Jenderal (audit body)", Role.auditor),
]

PKS_2024: dict[str, Any] = {
    "code": "PKS-2024-APTIKA-KASN",
    "title": "PKS Pengawasan Konten Internet Terkait Netralitas Pegawai ASN dalam Penyelenggaraan Pemilu "
    "dan Pemilihan Tahun 2024",
    # Signed 26 Oct 2023; in force through 20 Feb 2025 (regional heads sworn in), WIB, end exclusive.
    "valid_from": datetime(2023, 10, 26, tzinfo=WIB),
    "valid_until": datetime(2025, 2, 21, tzinfo=WIB),
    "wind_down_days": 30,
    "retention_days": 730,
}


@dataclass
class SeededClient:
    agency_code: str
    client_id: str
    secret: str | None
    scopes: list[str]


def seed(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    reset_secrets: bool = False,
    with_demo_agreement: bool = True,
) -> list[SeededClient]:
    seeded_agencies = [_agency(session, code, name, role, now) for code, name, role in DEMO_AGENCIES]
    _agreement(session, seeded_agencies, now=now, **PKS_2024)
    if with_demo_agreement:
        _agreement(
            session,
            seeded_agencies,
            now=now,
            code="DEMO",
            is_demo=True,
            title="DEMO agreement — not a real PKS; lets a newcomer try the whole flow today",
            valid_from=now,
            valid_until=now + timedelta(days=365),
            wind_down_days=30,
            retention_days=730,
        )
    if keys.active_key(session) is None:
        keys.create_signing_key(session, settings=settings, now=now)
    return [
        _client(session, settings, agency, role, now, reset_secrets)
        for agency, (_c, _n, role) in zip(seeded_agencies, DEMO_AGENCIES, strict=True)
    ]


def _agency(session: Session, code: str, name: str, role: Role, now: datetime) -> Agency:
    return agencies.get_by_code(session, code) or agencies.create(session, code=code, name=name, roles=[role], now=now)


def _agreement(session: Session, parties: list[Agency], *, now: datetime, code: str, **fields: object) -> None:
    if session.exec(select(Agreement).where(Agreement.code == code)).first() is not None:
        return
    agreement = Agreement(code=code, created_at=now, **fields)  # type: ignore[arg-type]
    session.add(agreement)
    session.flush()
    for agency in parties:
        session.add(AgreementParty(agreement_id=agreement.id, agency_id=agency.id))
    session.flush()


def _client(
    session: Session, settings: Settings, agency: Agency, role: Role, now: datetime, reset_secret: bool
) -> SeededClient:
    name = f"demo-{agency.code.lower()}"
    existing = session.exec(select(ApiClient).where(ApiClient.agency_id == agency.id, ApiClient.name == name)).first()
    if existing is None:
        created = clients.create(
            session, settings=settings, agency=agency, name=name, scopes=sorted(ROLE_SCOPES[role]), now=now
        )
        return SeededClient(agency.code, created.client.client_id, created.secret, created.client.scopes)
    secret = clients.reset_secret(session, settings=settings, client=existing) if reset_secret else None
    return SeededClient(agency.code, existing.client_id, secret, existing.scopes)


def utcnow() -> datetime:
    return datetime.now(UTC)
