"""audit_event: a partial index of the rows not yet chained, for the sealer

The sealer asks for the oldest unsealed rows (``WHERE seq IS NULL ORDER BY id LIMIT n``). Without this index
the plan depends on the planner's statistics: taken while many rows waited (a backlog, a bulk load), they
make it walk the primary key from the first row, through every sealed row, on each batch (sealing a
million-row backlog took 69 s, 20 times the 100,000-row backlog; bench/README.md). This index holds only the
waiting rows, so finding them costs the same at any size of the log.

Revision ID: a4c6e8f0b2d4
Revises: 9e4f6a8b0c32
Create Date: 2026-11-28 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4c6e8f0b2d4"
down_revision: str | None = "9e4f6a8b0c32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSEALED = sa.text("seq IS NULL")


def upgrade() -> None:
    op.create_index("ix_audit_event_unsealed", "audit_event", ["id"], postgresql_where=UNSEALED, sqlite_where=UNSEALED)


def downgrade() -> None:
    op.drop_index("ix_audit_event_unsealed", table_name="audit_event")
