"""Alembic environment: the schema is SQLModel.metadata; the engine is the app's."""

from alembic import context
from sqlmodel import SQLModel

import marketplace.models  # noqa: F401  (registers every table on the metadata)

# Objects that live only in the migrations: the full-text machinery of each backend.
_MIGRATION_ONLY = {
    "listing_fts",
    "listing_fts_data",
    "listing_fts_idx",
    "listing_fts_docsize",
    "listing_fts_config",
    "listing_fts_content",
    "search_vector",
    "ix_listing_search_vector",
}


def include_object(obj, name, type_, reflected, compare_to):
    """Leave migration-only objects out of autogenerate's comparison."""
    return name not in _MIGRATION_ONLY


def run_migrations() -> None:
    """Run against the engine handed over by `flask db` (config.attributes['engine'])."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=True,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
