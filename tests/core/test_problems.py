"""Every error is problem+json, in English or Indonesian; request ids are echoed."""

from fastapi.testclient import TestClient

from tests.builders import World


class TestProblemDetails:
    def test_unknown_route_is_404_problem(self, client: TestClient) -> None:
        response = client.get("/api/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "/problems/not-found" and body["status"] == 404
        assert body["instance"] == "/api/v1/nothing-here"

    def test_wrong_method_is_405_problem(self, client: TestClient) -> None:
        response = client.delete("/healthz")
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/method-not-allowed"

    def test_indonesian_titles(self, client: TestClient) -> None:
        response = client.get("/api/v1/me", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.8"})
        assert response.status_code == 401
        assert response.json()["title"] == "Autentikasi diperlukan"
        english = client.get("/api/v1/me")
        assert english.json()["title"] == "Authentication required"

    def test_unexpected_error_is_500_problem_without_internals(self, world: World) -> None:
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/test/boom")
        def boom() -> None:
            raise RuntimeError("secret internals")

        world.client.app.include_router(router)  # type: ignore[attr-defined]
        response = world.client.get("/test/boom")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert "secret internals" not in response.text

    def test_validation_error_has_pointers(self, world: World) -> None:
        from fastapi import APIRouter
        from pydantic import BaseModel

        class Body(BaseModel):
            count: int

        router = APIRouter()

        @router.post("/test/validate")
        def validate(body: Body) -> dict[str, int]:
            return {"count": body.count}

        world.client.app.include_router(router)  # type: ignore[attr-defined]
        response = world.client.post("/test/validate", json={"count": "many"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["pointer"] == "/body/count"


class TestRequestId:
    def test_echoes_a_well_formed_request_id(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "aptika-batch-42"})
        assert response.headers["x-request-id"] == "aptika-batch-42"

    def test_replaces_a_malformed_request_id(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert response.headers["x-request-id"] != "bad id\twith spaces"
        assert len(response.headers["x-request-id"]) == 36

    def test_problem_carries_the_request_id(self, client: TestClient) -> None:
        response = client.get("/nope", headers={"X-Request-ID": "trace-1"})
        assert response.json()["request_id"] == "trace-1"
