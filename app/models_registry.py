"""Imports every table model so Alembic's autogenerate sees the whole schema."""


def import_all_models() -> None:
    import app.agencies.models  # noqa: F401
    import app.agreements.models  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.cases.models  # noqa: F401
    import app.core.idempotency  # noqa: F401
    import app.events.models  # noqa: F401
    import app.evidence.models  # noqa: F401
    import app.reports.models  # noqa: F401


def all_table_names() -> list[str]:
    """Every table the migrations make (used by scans, e.g. the retention test's)."""
    from app.core.db import metadata

    import_all_models()
    return sorted(metadata.tables)
