"""Roles and the scopes each allows. Agencies hold roles (as data, moved by succession); clients get only
scopes their agency's current roles allow."""

from enum import StrEnum


class Role(StrEnum):
    reporter = "reporter"  # Ditjen Aptika (Kominfo, later Komdigi)
    case_authority = "case_authority"  # KASN, later BKN / KemenPAN-RB
    observer = "observer"  # Bawaslu
    auditor = "auditor"  # inspectorate / audit body
    operator = "operator"  # the service operator (CLI)


REPORTS_WRITE = "reports:write"
REPORTS_READ = "reports:read"
CASES_READ = "cases:read"
CASES_WRITE = "cases:write"
SANCTIONS_WRITE = "sanctions:write"
IDENTITY_READ = "identity:read"
AUDIT_READ = "audit:read"
ADMIN = "admin"

ALL_SCOPES = (REPORTS_WRITE, REPORTS_READ, CASES_READ, CASES_WRITE, SANCTIONS_WRITE, IDENTITY_READ, AUDIT_READ, ADMIN)

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.reporter: frozenset({REPORTS_WRITE, REPORTS_READ}),
    Role.case_authority: frozenset({CASES_READ, CASES_WRITE, SANCTIONS_WRITE, IDENTITY_READ}),
    Role.observer: frozenset({CASES_READ}),
    Role.auditor: frozenset({AUDIT_READ}),
    Role.operator: frozenset({ADMIN}),
}


def scopes_for_roles(roles: set[str] | frozenset[str]) -> frozenset[str]:
    allowed: set[str] = set()
    for role in roles:
        allowed |= ROLE_SCOPES.get(Role(role), frozenset())
    return frozenset(allowed)
