"""No secret in logs, in the repr of settings, or in any response after creation."""

import logging

import pytest

from app.core.config import Settings
from tests.builders import World
from tests.conftest import TEST_SECRET_KEY


def test_settings_repr_hides_the_secret(settings: Settings) -> None:
    assert TEST_SECRET_KEY not in repr(settings)
    assert TEST_SECRET_KEY not in str(settings.model_dump())


def test_no_secret_or_token_in_logs_or_later_responses(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seeded = world.clients["KASN"]
    token = world.token("KASN")
    bodies = [
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).text,
        world.client.get("/.well-known/jwks.json").text,
        world.client.get("/readyz").text,
        world.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(seeded.client_id, "wrong")
        ).text,
    ]
    for secret in (seeded.secret, token, TEST_SECRET_KEY):
        assert secret
        assert all(secret not in body for body in bodies)
        assert secret not in caplog.text
