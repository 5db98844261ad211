"""Migrations are the only way the schema is made: upgrade → downgrade → upgrade on this backend, and the
models match what the migrations build."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.core import migrations
from app.core.db import make_engine, metadata
from app.models_registry import import_all_models
from tests import database


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    db = database.new_empty_database(tmp_path)
    try:
        migrations.upgrade(db.url)
        engine = make_engine(db.url)
        tables = set(inspect(engine).get_table_names())
        assert {"agency", "agency_role", "api_client", "signing_key", "agreement"} <= tables
        migrations.downgrade(db.url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(db.url)
        with engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()
            import_all_models()
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), metadata)
        engine.dispose()
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        database.drop(db)
