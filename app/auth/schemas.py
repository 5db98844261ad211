from typing import Any

from pydantic import BaseModel, Field


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds; at most 600")
    scope: str = Field(description="Space-separated scopes actually granted")


class OAuthErrorResponse(BaseModel):
    """RFC 6749 §5.2."""

    error: str = Field(examples=["invalid_client", "invalid_request", "invalid_scope", "unsupported_grant_type"])
    error_description: str | None = None


class JWKS(BaseModel):
    keys: list[dict[str, Any]]
