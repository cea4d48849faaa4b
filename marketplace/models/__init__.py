"""SQLModel tables. The naming convention is set before any table is defined."""

from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from .account import ApiToken, User  # noqa: E402
from .federation import AuthorizationCode, RevokedToken, SpentAssertion  # noqa: E402
from .identity import NodeSerial  # noqa: E402
from .listing import Listing  # noqa: E402
from .monitoring import AuditEntry, PriceIndexDay, ReportedLink, RttSample, SyncSample  # noqa: E402
from .payment import LedgerEntry, Payment, SellerAccount, StripeEvent  # noqa: E402
from .registry import Node, NodeApplication, NodeStatusChange, Review  # noqa: E402
from .remote_order import OrderGroup, OrderGroupPart, RemoteOrder  # noqa: E402
from .sync import CatalogueChange, OutboxCounter, OutboxEvent, Stream, SyncCursor  # noqa: E402
from .trading import IdempotencyKey, Order, OrderEvent  # noqa: E402

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuthorizationCode",
    "CatalogueChange",
    "IdempotencyKey",
    "LedgerEntry",
    "Listing",
    "Node",
    "NodeApplication",
    "NodeSerial",
    "NodeStatusChange",
    "Order",
    "OrderEvent",
    "OrderGroup",
    "OrderGroupPart",
    "OutboxCounter",
    "Payment",
    "OutboxEvent",
    "PriceIndexDay",
    "RemoteOrder",
    "ReportedLink",
    "Review",
    "RevokedToken",
    "RttSample",
    "SellerAccount",
    "SpentAssertion",
    "Stream",
    "StripeEvent",
    "SyncCursor",
    "SyncSample",
    "SQLModel",
    "User",
]
