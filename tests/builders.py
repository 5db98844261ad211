"""Builders for test data: agencies, clients and tokens through the real code paths."""

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.agencies import service as agencies
from app.agencies.models import Role
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

    def token_response(self, agency_code: str, scope: str | None = None) -> Any:
        seeded = self.clients[agency_code]
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        return self.client.post("/oauth/token", data=data, auth=(seeded.client_id, seeded.secret or ""))

    def token(self, agency_code: str, scope: str | None = None) -> str:
        response = self.token_response(agency_code, scope)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def auth(self, agency_code: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(agency_code, scope)}"}

    def add_agency(self, code: str, roles: list[Role]) -> None:
        agencies.create(self.db, code=code, name=f"Agency {code}", roles=roles, now=self.clock.now())
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
