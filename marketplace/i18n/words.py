"""The fixed words of the domain as people read them: statuses, roles, review stages and decisions.

The API always speaks the values (`published`, `initial_approved`, `national_reviewer`); pages show
them through the `term` filter, in the reader's language.
"""

from flask_babel import lazy_gettext as _l

TERMS = {
    # listing statuses
    "draft": _l("draft"),
    "published": _l("published"),
    "paused": _l("paused"),
    "retired": _l("retired"),
    # node and application statuses
    "active": _l("active"),
    "suspended": _l("suspended"),
    "submitted": _l("submitted"),
    "initial_approved": _l("initial approved"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    # node roles
    "national": _l("national"),
    "regional": _l("regional"),
    "industry": _l("industry"),
    # people's roles
    "seller": _l("seller"),
    "buyer": _l("buyer"),
    "operator": _l("operator"),
    "local_reviewer": _l("local reviewer"),
    "national_reviewer": _l("national reviewer"),
    # review stages and decisions
    "initial": _l("initial"),
    "final": _l("final"),
    "approve": _l("approve"),
    "reject": _l("reject"),
    # order statuses, and what else happens to an order (the events' kinds)
    "held": _l("held"),
    "confirmed": _l("confirmed"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
    "refunded": _l("refunded"),
    "access_given": _l("access given"),
    "reported": _l("reported not delivered"),
    # payment providers and payment statuses
    "invoice": _l("bank transfer"),
    "stripe": _l("online payment (Stripe)"),
    "awaiting": _l("awaiting payment"),
    "paid": _l("paid"),
    "refund_pending": _l("refund pending"),
    "none": _l("no payment"),
    # sync directions and the node's health checks (monitoring)
    "up": _l("up to the parent"),
    "down": _l("down from national"),
    "database": _l("database"),
    "signing_keys": _l("signing keys"),
    # who did something when no person did: the audit log's and the order history's actor
    "system": _l("system"),
}


def term(value: str | None) -> str:
    """A domain value as people read it in the current language; unknown values unchanged."""
    if value is None:
        return ""
    label = TERMS.get(value)
    return str(label) if label is not None else value


# The audit log's actions as people read them; the code itself stays beside the label (operators filter by it).
ACTIONS = {
    "sign_in": _l("signed in"),
    "sign_in_failed": _l("sign-in failed"),
    "password.change": _l("password changed"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "keys.init": _l("signing keys created"),
    "keys.rotate": _l("signing keys rotated"),
    "listing.draft": _l("listing saved as a draft"),
    "listing.publish": _l("listing published"),
    "listing.update": _l("listing changed"),
    "listing.retire": _l("listing retired"),
    "application.submit": _l("node application submitted"),
    "node.suspend": _l("node suspended"),
    "node.reactivate": _l("node reactivated"),
    "payment.refund": _l("refund recorded"),
    "payment.webhook": _l("payment event received"),
    "order.held_elsewhere": _l("order held at another node"),
}
_ACTION_FAMILIES = {"order": _l("order: %(what)s"), "review": _l("review: %(what)s")}


def action_label(action: str | None) -> str:
    """An audit action in words (`order.confirmed` → "order: confirmed"); an unknown one as it is."""
    if not action:
        return ""
    if (label := ACTIONS.get(action)) is not None:
        return str(label)
    family, _dot, what = action.partition(".")
    if family in _ACTION_FAMILIES and what:
        elsewhere = what.endswith("_elsewhere")
        what = term(what.removesuffix("_elsewhere"))
        return str(_ACTION_FAMILIES[family] % {"what": what}) + (str(_l(" (at another node)")) if elsewhere else "")
    return action
