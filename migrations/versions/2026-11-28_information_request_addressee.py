"""information requests are addressed to the reporter of one report

Revision ID: 5b1e0c7a9d21
Revises: 423687832010
Create Date: 2026-11-28 16:20:00

Existing requests are addressed to the case's first report (the one that opened it): before this revision
the service had no other notion of whom it asked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e0c7a9d21"
down_revision: str | None = "423687832010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("addressed_agency_id", sa.Uuid(), nullable=True))
    first_report = (
        "(SELECT r.{col} FROM report r WHERE r.case_id = information_request.case_id "
        "ORDER BY r.received_at, r.id LIMIT 1)"
    )
    op.execute(
        f"UPDATE information_request SET report_id = {first_report.format(col='id')}, "  # noqa: S608 - constant SQL, no input
        f"addressed_agency_id = {first_report.format(col='agency_id')}"
    )
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.alter_column("report_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("addressed_agency_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_information_request_report_id_report"), "report", ["report_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_information_request_addressed_agency_id_agency"), "agency", ["addressed_agency_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_information_request_addressed_agency_id"), ["addressed_agency_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("information_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_information_request_addressed_agency_id"))
        batch_op.drop_constraint(batch_op.f("fk_information_request_addressed_agency_id_agency"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_information_request_report_id_report"), type_="foreignkey")
        batch_op.drop_column("addressed_agency_id")
        batch_op.drop_column("report_id")
