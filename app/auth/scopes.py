"""Scope names, re-exported from the access policy (``app.access.roles``), where roles and scopes are defined."""

from app.access.roles import (
    ADMIN,
    ALL_SCOPES,
    AUDIT_READ,
    CASES_READ,
    CASES_WRITE,
    IDENTITY_READ,
    REPORTS_READ,
    REPORTS_WRITE,
    ROLE_SCOPES,
    SANCTIONS_WRITE,
    scopes_for_roles,
)

__all__ = [
    "ADMIN",
    "ALL_SCOPES",
    "AUDIT_READ",
    "CASES_READ",
    "CASES_WRITE",
    "IDENTITY_READ",
    "REPORTS_READ",
    "REPORTS_WRITE",
    "ROLE_SCOPES",
    "SANCTIONS_WRITE",
    "scopes_for_roles",
]
