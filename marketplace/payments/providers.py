"""The payment providers behind one interface: `invoice` (bank transfer) and `stripe` (Checkout).

Orders and the ledger speak only of a provider's `PaymentState` (what it received and gave back), so a
domestic provider (Alipay, WeChat Pay or UnionPay direct) joins by implementing `Provider` and being
named in `providers_of`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..models import Order, Payment


@dataclass(frozen=True)
class Checkout:
    """A page where the buyer pays: the provider's id for it and its address."""

    id: str
    url: str


@dataclass(frozen=True)
class Refund:
    """Money the provider gave back: its id and amount."""

    id: str
    amount: int


@dataclass
class PaymentState:
    """What the provider knows of an order's payment, read fresh from it."""

    paid: bool = False  # the buyer's money arrived
    closed: bool = False  # the payment page lapsed or was closed unpaid
    amount: int = 0
    charge_id: str | None = None
    payment_intent_id: str | None = None
    refunds: list[Refund] = field(default_factory=list)


class Provider(Protocol):
    """What the node asks of a way of paying."""

    name: str
    opens_page: bool  # whether `start` opens a page where the buyer pays (False: paid offline, `start` is None)

    def start(self, order: Order, *, success_url: str, cancel_url: str) -> Checkout | None:
        """Open the page where the buyer pays the held order (None: paid offline)."""

    def close(self, payment: Payment) -> None:
        """Close the payment page of an order no longer held, so that nobody pays it."""

    def read(self, payment: Payment) -> PaymentState:
        """The payment as the provider knows it now."""

    def refund(self, payment: Payment, *, amount: int, key: str) -> Refund | None:
        """Give `amount` back to the buyer (None: returned offline, by bank transfer)."""


class InvoiceProvider:
    """Bank transfer against the node's invoice: the seller or an operator records what arrived."""

    name = "invoice"
    opens_page = False

    def __init__(self, account: str):
        self.account = account

    def start(self, order: Order, *, success_url: str, cancel_url: str) -> Checkout | None:
        return None

    def close(self, payment: Payment) -> None:
        return None

    def read(self, payment: Payment) -> PaymentState:
        return PaymentState()

    def refund(self, payment: Payment, *, amount: int, key: str) -> Refund | None:
        return None

    def instructions(self, order: Order) -> dict:
        """What the buyer's bank transfer must say and where it goes, and by when."""
        deadline: datetime | None = order.hold_expires_at
        return {"reference": order.code, "amount": order.total, "currency": order.currency,
                "account": self.account, "deadline": deadline}  # fmt: skip
