"""auth_version: one row bumped by triggers on every table that authorises a request

Revision ID: 7c2d4e6f8a10
Revises: 5b1e0c7a9d21
Create Date: 2026-11-28 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c2d4e6f8a10"
down_revision: str | None = "5b1e0c7a9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose rows decide who may do what (app/auth/service.py resolves a principal from these).
AUTH_TABLES = (
    "api_client",
    "revoked_token",
    "agency",
    "agency_role",
    "agreement",
    "agreement_party",
    "agreement_extension",
    "signing_key",
)


def upgrade() -> None:
    op.create_table(
        "auth_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_version")),
    )
    op.execute("INSERT INTO auth_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_auth_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        for table in AUTH_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_auth_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_version()"
            )
        return
    for table in AUTH_TABLES:
        for verb in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_{verb.lower()}_bumps_auth_version AFTER {verb} ON {table} "  # noqa: S608 - table names are constants
                "BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in AUTH_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bumps_auth_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_auth_version()")
    else:
        for table in AUTH_TABLES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{verb}_bumps_auth_version")
    op.drop_table("auth_version")
