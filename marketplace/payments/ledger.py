"""The ledger: every movement of money is an entry; per order, charge − refund = commission + seller's share.

Amounts are in minor units. A refund takes the commission and the seller's share back in proportion, so a
full refund leaves both at zero. Each entry names the provider's id of the movement (`reference`), and the
table refuses the same (kind, reference) twice: a movement reported again changes nothing.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from ..models import LedgerEntry, Order


def commission_of(amount: int, bps: int) -> int:
    """The node's commission on an amount: `bps` basis points, rounded half up."""
    return (amount * bps + 5000) // 10000


def sums_of(session: Session, order_id: int) -> dict[str, int]:
    """The order's entries added up by kind (every kind present, zero when none)."""
    rows = session.execute(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).where(LedgerEntry.order_id == order_id)
        .group_by(LedgerEntry.kind)
    ).all()  # fmt: skip
    sums = dict.fromkeys(("charge", "commission", "seller_share", "transfer", "payout", "refund"), 0)
    sums.update({kind: int(total) for kind, total in rows})
    return sums


def net_paid(sums: dict[str, int]) -> int:
    """What the buyer paid and was not given back."""
    return sums["charge"] - sums["refund"]


def _entered(session: Session, kind: str, reference: str) -> bool:
    query = select(LedgerEntry.id).where(LedgerEntry.kind == kind, LedgerEntry.reference == reference)
    return session.scalars(query).first() is not None


def _add(session: Session, order: Order | None, kind: str, amount: int, reference: str, *, currency: str,
         seller_id: int | None, note: str = "", actor: str = "system", now: datetime) -> None:  # fmt: skip
    session.add(LedgerEntry(
        order_id=order.id if order else None, seller_id=seller_id, kind=kind, amount=amount, currency=currency,
        reference=reference, note=note, actor=actor, created_at=now,
    ))  # fmt: skip


def enter_charge(*, session: Session, order: Order, amount: int, reference: str, bps: int, now: datetime,
                 actor: str = "system") -> bool:  # fmt: skip
    """The buyer paid `amount`: a charge, the node's commission and the seller's share. False if entered before."""
    if _entered(session, "charge", reference):
        return False
    commission = commission_of(amount, bps)
    common = {"currency": order.currency, "seller_id": order.seller_id, "actor": actor, "now": now}
    _add(session, order, "charge", amount, reference, **common)
    _add(session, order, "commission", commission, f"{reference}:commission", **common)
    _add(session, order, "seller_share", amount - commission, f"{reference}:share", **common)
    session.flush()
    return True


def enter_refund(*, session: Session, order: Order, amount: int, reference: str, now: datetime,
                 note: str = "", actor: str = "system") -> bool:  # fmt: skip
    """`amount` went back to the buyer: the commission and the share shrink in proportion. False if entered before."""
    if _entered(session, "refund", reference):
        return False
    sums = sums_of(session, order.id)
    before = net_paid(sums)
    after = before - amount
    commission_after = sums["commission"] * after // before if before > 0 else 0
    share_after = after - commission_after
    common = {"currency": order.currency, "seller_id": order.seller_id, "actor": actor, "now": now}
    _add(session, order, "refund", amount, reference, note=note, **common)
    _add(session, order, "commission", commission_after - sums["commission"], f"{reference}:commission", **common)
    _add(session, order, "seller_share", share_after - sums["seller_share"], f"{reference}:share", **common)
    session.flush()
    return True


def enter_transfer(*, session: Session, order: Order, amount: int, reference: str, now: datetime) -> bool:
    """The seller's share sent to their connected account (a negative amount: a reversal)."""
    if _entered(session, "transfer", reference):
        return False
    _add(session, order, "transfer", amount, reference, currency=order.currency, seller_id=order.seller_id, now=now)
    session.flush()
    return True


def payout_recorded(session: Session, reference: str) -> bool:
    """Whether a payout with this reference is in the ledger already."""
    return _entered(session, "payout", reference)


def enter_payout(*, session: Session, seller_id: int, amount: int, currency: str, reference: str, note: str,
                 actor: str, now: datetime) -> bool:  # fmt: skip
    """An operator paid a seller by bank transfer (not tied to one order)."""
    if _entered(session, "payout", reference):
        return False
    _add(session, None, "payout", amount, reference, currency=currency, seller_id=seller_id, note=note, actor=actor,
         now=now)  # fmt: skip
    session.flush()
    return True


def unbalanced(session: Session) -> list[str]:
    """Every order whose entries do not add up, or that was refunded or transferred more than it holds, in words."""
    problems = []
    per_order: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = session.execute(
        select(LedgerEntry.order_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.order_id.is_not(None)).group_by(LedgerEntry.order_id, LedgerEntry.kind)
    ).all()  # fmt: skip
    for order_id, kind, total in rows:
        per_order[order_id][kind] = int(total)
    codes = dict(session.execute(select(Order.id, Order.code).where(Order.id.in_(list(per_order)))).all())
    for order_id, sums in sorted(per_order.items()):
        net = sums["charge"] - sums["refund"]
        if net != sums["commission"] + sums["seller_share"]:
            problems.append(f"{codes[order_id]}: charge − refund {net} ≠ commission {sums['commission']} + "
                            f"seller's share {sums['seller_share']}")  # fmt: skip
        if net < 0:
            problems.append(f"{codes[order_id]}: refunded {sums['refund']}, more than charged {sums['charge']}")
        if sums["transfer"] > max(sums["seller_share"], 0):
            problems.append(f"{codes[order_id]}: transferred {sums['transfer']}, more than the seller's share "
                            f"{sums['seller_share']}")  # fmt: skip
    return problems


@dataclass
class Balance:
    """A seller's money at this node: shares of orders started (earned) and not yet started (pending), paid out."""

    earned: int = 0
    pending: int = 0
    paid_out: int = 0
    orders: list[dict] = field(default_factory=list)
    payouts: list[LedgerEntry] = field(default_factory=list)
    last_payout_id: int | None = None

    @property
    def owed(self) -> int:
        """Earned and not yet paid out."""
        return self.earned - self.paid_out


PAYOUT_CURRENCY = "cny"  # operators pay sellers out by bank transfer in yuan


def seller_balance(*, session: Session, seller_id: int, now: datetime) -> Balance:
    """The seller's balance in yuan, each order's share and commission, and their payouts.

    Every order is listed in its own currency; only yuan orders add up to what is earned and owed here
    (an order in another currency is paid out through the payment provider, never summed with yuan).
    """
    balance = Balance()
    rows = session.execute(
        select(Order, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.order_id == Order.id).where(Order.seller_id == seller_id)
        .group_by(Order.id, LedgerEntry.kind).order_by(Order.id.desc())
    ).all()  # fmt: skip
    by_order: dict[int, dict] = {}
    for order, kind, total in rows:
        line = by_order.setdefault(order.id, {"order": order, "charge": 0, "refund": 0, "commission": 0,
                                              "seller_share": 0, "transfer": 0, "payout": 0})  # fmt: skip
        line[kind] = int(total)
    for line in by_order.values():
        balance.orders.append(line)
        if line["order"].currency != PAYOUT_CURRENCY:
            continue
        started = line["order"].starts_at <= now
        if started:
            balance.earned += line["seller_share"]
        else:
            balance.pending += line["seller_share"]
        balance.paid_out += line["transfer"]
    balance.payouts = list(session.scalars(
        select(LedgerEntry).where(LedgerEntry.seller_id == seller_id, LedgerEntry.kind == "payout")
        .order_by(LedgerEntry.id.desc())
    ))  # fmt: skip
    balance.paid_out += sum(entry.amount for entry in balance.payouts if entry.currency == PAYOUT_CURRENCY)
    return balance


def sellers_balances(session: Session, now: datetime) -> list[tuple[int, Balance]]:
    """(seller id, balance) of every seller with money in the ledger, the most owed first: what operators pay out.

    The sums of seller_balance, added up by the database for every seller at once (three statements, however
    many sellers); each balance carries its last payout only, and no orders.
    """
    yuan, started = Order.currency == PAYOUT_CURRENCY, Order.starts_at <= now

    def total(*conditions):
        return func.coalesce(func.sum(case((and_(*conditions), LedgerEntry.amount), else_=0)), 0)

    balances: dict[int, Balance] = defaultdict(Balance)
    share = LedgerEntry.kind == "seller_share"
    for seller_id, earned, pending, transferred in session.execute(
        select(Order.seller_id, total(yuan, share, started), total(yuan, share, ~started),
               total(yuan, LedgerEntry.kind == "transfer"))
        .join(LedgerEntry, LedgerEntry.order_id == Order.id).group_by(Order.seller_id)
    ):  # fmt: skip
        balance = balances[seller_id]
        balance.earned, balance.pending, balance.paid_out = int(earned), int(pending), int(transferred)
    payouts = select(LedgerEntry.seller_id).where(LedgerEntry.seller_id.is_not(None), LedgerEntry.kind == "payout")
    for seller_id, paid, last_id in session.execute(
        payouts.add_columns(total(LedgerEntry.currency == PAYOUT_CURRENCY), func.max(LedgerEntry.id))
        .group_by(LedgerEntry.seller_id)
    ):  # fmt: skip
        balances[seller_id].paid_out += int(paid)
        balances[seller_id].last_payout_id = last_id
    last = {entry.id: entry for entry in session.scalars(
        select(LedgerEntry).where(LedgerEntry.id.in_([b.last_payout_id for b in balances.values() if b.last_payout_id]))
    )}  # fmt: skip
    for balance in balances.values():
        balance.payouts = [last[balance.last_payout_id]] if balance.last_payout_id in last else []
    return sorted(balances.items(), key=lambda pair: (-pair[1].owed, pair[0]))
