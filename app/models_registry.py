"""Imports every table model so Alembic's autogenerate sees the whole schema."""


def import_all_models() -> None:
    import app.agencies.models  # noqa: F401
    import app.agreements.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.cases.models  # noqa: F401
    import app.core.idempotency  # noqa: F401
    import app.events.models  # noqa: F401
    import app.evidence.models  # noqa: F401
    import app.reports.models  # noqa: F401
