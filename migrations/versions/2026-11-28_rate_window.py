"""rate_window: request counters per (scope, key, short window), shared by every server process

Revision ID: 8d3e5f7a9b21
Revises: 7c2d4e6f8a10
Create Date: 2026-11-28 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "8d3e5f7a9b21"
down_revision: str | None = "7c2d4e6f8a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_window",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("window_start", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_start", name=op.f("pk_rate_window")),
    )
    with op.batch_alter_table("rate_window", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_window_window_start"), ["window_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_window_window_start"))
    op.drop_table("rate_window")
