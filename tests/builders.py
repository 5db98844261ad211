"""Builders for test data: agencies, clients and tokens through the real code paths."""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.agencies import service as agencies
from app.agencies.models import Role
from app.agreements.models import Agreement, AgreementParty
from app.auth import clients
from app.core.clock import FrozenClock
from app.core.config import Settings
from app.demo import SeededClient


@dataclass
class World:
    client: TestClient
    db: Session
    settings: Settings
    clock: FrozenClock
    clients: dict[str, SeededClient]
    tokens: dict[tuple[str, str | None, Any], str] = field(default_factory=dict)

    def sealed(self) -> None:
        """Seal the audit rows of reads and refusals (servers do this within 0.25 s), then read afresh."""
        from app.audit import flood
        from app.audit.service import seal_pending

        self.db.rollback()
        flood.close(self.db.get_bind(), before=self.clock.now() + timedelta(days=1))  # type: ignore[arg-type]
        seal_pending(self.db.get_bind())  # type: ignore[arg-type]
        self.db.rollback()

    def token_response(self, agency_code: str, scope: str | None = None) -> Any:
        seeded = self.clients[agency_code]
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        return self.client.post("/oauth/token", data=data, auth=(seeded.client_id, seeded.secret or ""))

    def token(self, agency_code: str, scope: str | None = None, *, fresh: bool = False) -> str:
        """A token through the real token endpoint, reused within a scene: for the same client and scope at
        the same (frozen) instant, as a real client reuses its token until it expires. Moving the clock gets a
        fresh one; ``token_response`` always asks anew."""
        cache_key = (agency_code, scope, self.clock.now())
        if fresh or cache_key not in self.tokens:
            response = self.token_response(agency_code, scope)
            assert response.status_code == 200, response.text
            self.tokens[cache_key] = str(response.json()["access_token"])
        return self.tokens[cache_key]

    def auth(self, agency_code: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(agency_code, scope)}"}

    def add_agency(self, code: str, roles: list[Role]) -> None:
        """A new agency, party to every agreement in the database (so only its roles limit it)."""
        agency = agencies.create(self.db, code=code, name=f"Agency {code}", roles=roles, now=self.clock.now())
        for agreement in self.db.exec(select(Agreement)):
            self.db.add(AgreementParty(agreement_id=agreement.id, agency_id=agency.id))
        self.db.commit()

    def add_client(self, agency_code: str, scopes: list[str], public_jwk: dict[str, Any] | None = None) -> SeededClient:
        created = clients.create(
            self.db,
            settings=self.settings,
            agency=agencies.require_by_code(self.db, agency_code),
            name="test client",
            scopes=scopes,
            public_jwk=public_jwk,
            now=self.clock.now(),
        )
        self.db.commit()
        seeded = SeededClient(agency_code, created.client.client_id, created.secret, created.client.scopes)
        self.clients[f"{agency_code}:{created.client.client_id}"] = seeded
        return seeded


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def report_payload(reference: str = "APT-0001", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "reference": reference,
        "content_url": "https://www.facebook.com/budi.santoso/posts/123?utm_source=share&fbclid=abc",
        "platform": "facebook",
        "content_kind": "post",
        "captured_at": "2024-06-01T10:00:00+07:00",
        "excerpt": "Ayo dukung paslon nomor 2!",
        "category": "online_campaign",
        "asn": {
            "name": "Budi Santoso",
            "nip": "198503152010011001",
            "instansi": "Pemerintah Kota Bandung",
            "jabatan": "Analis Kebijakan",
            "region_code": "32.73",
        },
        "source": "monitoring",
    }
    payload.update(changes)
    return payload


def push(world: World, payload: dict[str, Any], key: str | None = None, agency: str = "APTIKA") -> Any:
    headers = world.auth(agency)
    headers["Idempotency-Key"] = key or f"key-{payload.get('reference')}"
    return world.client.post("/api/v1/reports", json=payload, headers=headers)


def move(world: World, case_id: str, to: str, reason: str = "per procedure", agency: str = "KASN") -> Any:
    headers = world.auth(agency)
    current = world.client.get(f"/api/v1/cases/{case_id}", headers=headers)
    headers["If-Match"] = current.headers["etag"]
    return world.client.post(f"/api/v1/cases/{case_id}/transitions", json={"to": to, "reason": reason}, headers=headers)


def cli_client(world: World, run: Any, agency: str, *scopes: str, jwk: Path | None = None) -> str:
    """A client made by the operator's CLI (``private_key_jwt`` with ``jwk``, a public JWK file; else a
    secret), registered with the world under ``AGENCY:client_id``."""
    args = ["clients", "create", "--agency", agency, "--name", "cli client", "--json"]
    for scope in scopes:
        args += ["--scope", scope]
    if jwk is not None:
        args += ["--jwk", str(jwk)]
    code, out = run(*args)
    assert code == 0, out
    created = json.loads(out.strip().splitlines()[-1])
    key = f"{agency}:{created['client_id']}"
    world.clients[key] = SeededClient(agency, created["client_id"], created["client_secret"], list(scopes))
    return key
