"""audit_head may only move forward, to a sealed row's seq and hash; never deleted or truncated

Revision ID: 9e4f6a8b0c32
Revises: 8d3e5f7a9b21
Create Date: 2026-11-28 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9e4f6a8b0c32"
down_revision: str | None = "8d3e5f7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FORWARD = (
    "NEW.id = OLD.id AND NEW.seq > OLD.seq AND NEW.hash = "
    "COALESCE((SELECT hash FROM audit_event WHERE audit_event.seq = NEW.seq), '')"  # no such row: never equal
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {FORWARD} THEN RETURN NEW; END IF;
                RAISE EXCEPTION 'audit_head only moves forward to a sealed row (% refused)', TG_OP;
            END $$""")
        op.execute("""CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
                      FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()""")
        op.execute("""CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only()""")
        return
    op.execute(f"""CREATE TRIGGER audit_head_guard BEFORE UPDATE ON audit_head WHEN NOT ({FORWARD})
                   BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward to a sealed row'); END""")
    op.execute("""CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
                  BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward (DELETE refused)'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head")
        op.execute("DROP TRIGGER IF EXISTS audit_head_guard ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_forward_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
    op.execute("DROP TRIGGER IF EXISTS audit_head_guard")
