import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.builders import World


class TestHealthz:
    def test_alive(self, client: TestClient) -> None:
        assert client.get("/healthz").json() == {"status": "ok", "checks": {}}


class TestReadyz:
    def test_ready_with_schema_at_head_and_a_signing_key(self, world: World) -> None:
        response = world.client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"]["migrations"] == "head"

    def test_the_audit_key_is_reported_and_its_absence_degrades(self, world: World) -> None:
        assert world.client.get("/readyz").json()["checks"]["audit_key"] == "ok"
        world.settings.audit_signing_key = None
        body = world.client.get("/readyz").json()
        assert body["status"] == "degraded" and body["checks"]["audit_key"] == "NETRAL_AUDIT_SIGNING_KEY is not set"

    @pytest.mark.bare_database
    def test_not_ready_without_a_signing_key(self, client: TestClient) -> None:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "signing key" in response.json()["detail"]

    def test_not_ready_when_schema_is_behind(self, world: World) -> None:
        world.db.exec(text("UPDATE alembic_version SET version_num = 'older'"))  # type: ignore[call-overload]
        world.db.commit()
        response = world.client.get("/readyz")
        assert response.status_code == 503
        assert "schema" in response.json()["detail"]
