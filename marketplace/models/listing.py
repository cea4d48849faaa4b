"""The listing document of PROTOCOL.md §3, as this node stores it."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Text, false, text
from sqlmodel import Field, SQLModel

from .types import CapacityIntervals, UTCDateTime, utcnow

# Search reads only listings that are for sale and whose origin is not stale.
SEARCHABLE = "status = 'published' AND stale_since IS NULL"
# Search with include_stale also reads these: published listings of origins unreachable for long.
STALE = "status = 'published' AND stale_since IS NOT NULL"


# name -> (columns, extra predicate) of the search indexes; search reads nothing else of the table.
SEARCH_INDEXES = {
    "newest": (("id",), ""),
    "price": (("unit_price", "id"), ""),
    "type_newest": (("resource_type", "id"), ""),
    "type_price": (("resource_type", "unit_price", "id"), ""),
    "type_model_price": (("resource_type", "gpu_model", "unit_price", "id"), ""),
    "region_price": (("region", "unit_price", "id"), ""),
    "origin_newest": (("origin", "id"), ""),
    "city": (("city_code", "id"), " AND city_code IS NOT NULL"),
    "ppg": (("price_per_gpu_hour", "id"), " AND price_per_gpu_hour IS NOT NULL"),
    "model_ppg": (("gpu_model", "price_per_gpu_hour", "id"), " AND price_per_gpu_hour IS NOT NULL"),
}


def search_indexes(prefix: str, predicate: str) -> list[Index]:
    """The search indexes over the rows of `predicate`: searchable listings ("ix_listing_pub_…") or, for
    include_stale, the listings of stale origins ("ix_listing_stale_…", small while few origins are stale)."""
    indexes = []
    for name, (columns, extra) in SEARCH_INDEXES.items():
        where = text(predicate + extra)
        indexes.append(Index(f"{prefix}_{name}", *columns, postgresql_where=where, sqlite_where=where))
    return indexes


class Listing(SQLModel, table=True):
    """A capacity listing, local (seller_id set) or from another node.

    A draft may leave every field but its title empty (hence the nullable columns); a listing that
    is published, paused or retired has them all, as ListingSchema demands.
    """

    __table_args__ = (
        *search_indexes("ix_listing_pub", SEARCHABLE),
        *search_indexes("ix_listing_stale", STALE),
        Index("ix_listing_capacity_stale", "id", postgresql_where=text("capacity_stale"),
              sqlite_where=text("capacity_stale")),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    origin: str = Field(sa_column=Column(String(8), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    resource_type: str | None = Field(default=None, sa_column=Column(String(16)))
    gpu_model: str | None = Field(default=None, sa_column=Column(String(64)))
    gpu_count: int | None = Field(default=None, sa_column=Column(Integer))
    gpu_memory_gb: int | None = Field(default=None, sa_column=Column(Integer))
    vcpus: int | None = Field(default=None, sa_column=Column(Integer))
    memory_gb: int | None = Field(default=None, sa_column=Column(Integer))
    storage_gb: int | None = Field(default=None, sa_column=Column(BigInteger))
    bandwidth_gbps: float | None = Field(default=None, sa_column=Column(Float))
    model_name: str | None = Field(default=None, sa_column=Column(String(100)))
    tokens_per_second: float | None = Field(default=None, sa_column=Column(Float))
    region: str | None = Field(default=None, sa_column=Column(String(2)))
    city: str = Field(default="", sa_column=Column(String(64), nullable=False))
    # GB/T 2260 prefecture-level city of the datacenter: the latency estimate to a buyer (§10) needs it.
    city_code: str | None = Field(default=None, sa_column=Column(String(6)))
    datacenter: str = Field(default="", sa_column=Column(String(128), nullable=False))
    latency_ms: float | None = Field(default=None, sa_column=Column(Float))
    unit_price: int | None = Field(default=None, sa_column=Column(BigInteger))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    price_unit: str | None = Field(default=None, sa_column=Column(String(16)))
    # Derived from unit_price, price_unit and gpu_count, for sorting GPU offers alike.
    price_per_gpu_hour: int | None = Field(default=None, sa_column=Column(BigInteger))
    quantity: int | None = Field(default=None, sa_column=Column(Integer))
    available_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    available_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The shortest window an order may take, in hours (PROTOCOL.md §3).
    min_hours: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    # Free units over time (§3, §8); None: all `quantity` units are free throughout.
    capacity: list | None = Field(default=None, sa_column=Column(CapacityIntervals()))
    # Orders changed the free capacity since `capacity` was published: orders that queued for the listing's lock
    # leave the republishing to the next one that does not, or to the sync worker (trading/services.py).
    capacity_stale: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    seller_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    )
    seller_name: str = Field(sa_column=Column(String(100), nullable=False))
    seller_org: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # Set by national while the listing's origin is unreachable; search hides the listing meanwhile.
    stale_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The protocol document as JSON, rendered on every change and served as stored.
    document: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
