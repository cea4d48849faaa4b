"""Column types shared by the models."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# China Standard Time: how pages show times and how people type them. The API speaks UTC with offsets.
CST = timezone(timedelta(hours=8), "CST")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class CapacityIntervals(TypeDecorator):
    """A listing's free units over time: `[{"from", "until", "free"}, ...]` with aware datetimes.

    Stored compactly as `[[from, until, free], ...]` in Unix seconds, so that search compares numbers.
    """

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # None is SQL NULL, never JSON's null: search's array functions read only arrays.
        return dialect.type_descriptor(
            JSONB(none_as_null=True) if dialect.name == "postgresql" else JSON(none_as_null=True)
        )

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return [[int(i["from"].timestamp()), int(i["until"].timestamp()), int(i["free"])] for i in value]

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return [
            {"from": datetime.fromtimestamp(start, UTC), "until": datetime.fromtimestamp(end, UTC), "free": free}
            for start, end, free in value
        ]
