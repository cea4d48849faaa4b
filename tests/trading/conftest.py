"""Trading tests that cross nodes use the in-process federation of tests/federation."""

from ..federation.conftest import federation, national_database, national_postgresql, template_database  # noqa: F401
