"""People and listings of the in-process federation for tests of orders across nodes."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from marketplace.accounts.services import create_api_token, create_user
from marketplace.models import Order, RemoteOrder

from ..sync.test_push import publish


def national_buyer(federation, node: str = "R11", subject: str = "cpn-7", email: str = "li.na@example.cn") -> str:
    """An API token of a buyer at `node` whose account is linked to a national subject (as sign-in links it)."""
    app = federation[node]
    with app.app_context(), app.extensions["db"].session() as session:
        user = create_user(session=session, email=email, password="x" * 12, role="buyer", name="Li Na",
                           organization="Hangzhou AI Lab", national_subject=subject)  # fmt: skip
        plain, _token = create_api_token(session=session, user=user, name="test")
        session.commit()
    return plain


def local_buyer(federation, node: str = "R11", email: str = "wang@example.cn") -> str:
    """An API token of a buyer at `node` with a local account only (no national identity)."""
    app = federation[node]
    with app.app_context(), app.extensions["db"].session() as session:
        user = create_user(session=session, email=email, password="x" * 12, role="buyer", name="Wang Lei")
        plain, _token = create_api_token(session=session, user=user, name="test")
        session.commit()
    return plain


def window(hours_ahead: int = 3, hours: int = 5) -> tuple[datetime, datetime]:
    """A window on whole UTC hours starting `hours_ahead` hours from now."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    return start, start + timedelta(hours=hours)


def order_body(code: str, units: int = 1, **extra) -> dict:
    start, end = window()
    return {"listing_code": code, "units": units, "start": start.isoformat(), "end": end.isoformat()} | extra


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def orders_at(federation, node: str) -> list[Order]:
    """Every order held at `node` (the origin's own table)."""
    app = federation[node]
    with app.app_context(), app.extensions["db"].session() as session:
        return list(session.scalars(select(Order).order_by(Order.id)))


def records_at(federation, node: str) -> list[RemoteOrder]:
    """`node`'s records of orders its buyers hold elsewhere."""
    app = federation[node]
    with app.app_context(), app.extensions["db"].session() as session:
        return list(session.scalars(select(RemoteOrder).order_by(RemoteOrder.id)))


__all__ = ["publish"]
