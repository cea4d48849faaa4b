"""Why an order, a quote or a change is refused: PROTOCOL.md §8's reasons as domain errors."""

from ..errors import Conflict, DomainError


class CapacityShort(Conflict):
    """Fewer units are free in the window than asked for; `extra` carries `free`."""

    reason = "capacity_short"


class PriceChanged(Conflict):
    """The total differs from the `expected_total` the client was quoted."""

    reason = "price_changed"


class NotForSale(Conflict):
    """The listing is paused or retired (or sold at another node)."""

    reason = "not_for_sale"


class HoldExpired(Conflict):
    """The hold lapsed before it was paid or confirmed."""

    reason = "hold_expired"


class CapacityCommitted(Conflict):
    """A listing change would take away units or hours that orders already hold."""

    reason = "capacity_committed"


class TransitionRefused(Conflict):
    """The order's status does not allow what was asked."""

    reason = "invalid_transition"


class OriginUnreachable(DomainError):
    """The listing's origin node did not answer (or could not be asked): nothing was held."""

    status = 503
    reason = "origin_unreachable"


class NationalIdentityRequired(DomainError):
    """Orders at other nodes are for people signed in with the national identity."""

    status = 403
    reason = "national_identity_required"
