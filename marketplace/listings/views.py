"""Pages for buyers and sellers: home, search, a listing, the seller's dashboard and forms."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import func, select

from ..accounts.auth import page_role_required
from ..db import get_session, replica_read
from ..errors import DomainError, InvalidInput
from ..federation.directory import node_url
from ..i18n import _
from ..i18n.messages import translated_summary
from ..i18n.words import term
from ..models import Listing
from .forms import (
    SEARCH_FORM_FIELDS,
    document_to_form,
    form_errors,
    form_to_document,
    search_form_errors,
    search_form_to_args,
    search_form_values,
)
from .schemas import ListingCreateSchema, ListingPatchSchema, SearchArgsSchema, document_rule_errors
from .search import InvalidCursor, SearchPage, search_listings, searchable
from .services import (
    can_manage,
    document_of,
    listings_of_seller,
    managed_listing,
    publish_listing,
    retire_listing,
    set_listing_status,
    update_listing,
    visible_listing,
)
from .vocabulary import PRICE_UNIT_LABELS, RESOURCE_TYPE_LABELS

bp = Blueprint("listings", __name__)
_NO_RESULTS = SearchPage([], 1, 20, 0, True, None)
# Every page (the search form in the header too) names resource types and price units.
bp.add_app_template_global(RESOURCE_TYPE_LABELS, "RESOURCE_TYPE_LABELS")
bp.add_app_template_global(PRICE_UNIT_LABELS, "PRICE_UNIT_LABELS")
_STATUS_ACTIONS = {"publish": "published", "pause": "paused", "resume": "published"}


@bp.get("/")
def home():
    """The node's front page: a search box, the catalogue by type, the newest offers."""
    session = get_session()
    counts = dict(
        session.execute(
            select(Listing.resource_type, func.count()).where(*searchable()).group_by(Listing.resource_type)
        ).all()
    )
    newest = search_listings(session=session, params={"sort": "newest", "page": 1, "per_page": 6})
    return render_template("home.html", counts=counts, newest=newest.items)


def _search_args(query=None) -> tuple[dict, dict]:
    """Search parameters from the query string (or `query`); empty fields are ignored."""
    raw = {k: v.strip() for k, v in (request.args if query is None else query).items() if v.strip()}
    if "available_at" in raw and len(raw["available_at"]) == 10:  # a bare YYYY-MM-DD is a day in CST
        raw["available_at"] += "T00:00:00+08:00"
    for name in ("start", "end"):
        if len(raw.get(name, "")) == 16:  # a datetime-local input's YYYY-MM-DDTHH:MM, China Standard Time
            raw[name] += ":00+08:00"
    try:
        return SearchArgsSchema(unknown=EXCLUDE).load(raw), {}
    except ValidationError as error:
        return {}, error.messages


@bp.get("/listings")
@replica_read
def search():
    """Search page: the API's query parameters (fen, RFC 3339), as a form in yuan and CST, and results.

    The form's own fields (max_yuan, available_on) are converted and the page redirects to the address
    in the API's parameters, so a link to a search means the same at every node.
    """
    if any(name in request.args for name in SEARCH_FORM_FIELDS):
        args, errors = search_form_to_args(request.args)
        if not errors:
            return redirect(url_for("listings.search", **args), 303)
        values = search_form_values(args) | request.args.to_dict()
        _valid, others = _search_args(args)  # every other mistake beside these, not one round at a time
        errors = search_form_errors(others) | errors
        page = render_template("listings/search.html", results=_NO_RESULTS, errors=errors, args=values)
        return page, 422
    args, errors = _search_args()
    results = _NO_RESULTS
    if not errors:
        try:
            results = search_listings(session=get_session(), params=args)
        except InvalidCursor as error:  # shown next to the search form, not as an error page
            errors = error.field_errors()
    status = 422 if errors else 200
    values = search_form_values(request.args)
    page = render_template("listings/search.html", results=results, errors=search_form_errors(errors), args=values)
    return page, status


@bp.get("/listings/<code>")
def detail(code: str):
    """A listing's page: every spec, price, window, seller and code."""
    listing = visible_listing(session=get_session(), code=code, user=current_user)
    sold_at = None
    if listing.origin != current_app.config["NODE_CODE"]:
        url = node_url(listing.origin)
        sold_at = {"code": listing.origin, "url": f"{url}/listings/{listing.code}" if url else None}
    return render_template(
        "listings/detail.html", listing=listing, can_manage=can_manage(current_user, listing), sold_at=sold_at
    )


@bp.get("/dashboard")
@page_role_required("seller")
def dashboard():
    """A seller's own listings, drafts and retired ones too."""
    listings = listings_of_seller(session=get_session(), seller=current_user)
    return render_template("listings/dashboard.html", listings=listings)


def _render_form(listing, values, errors, status=200):
    return render_template("listings/form.html", listing=listing, values=values, errors=errors), status


@bp.route("/listings/new", methods=["GET", "POST"])
@page_role_required("seller")
def new_listing():
    """Publish a listing, or save it as a draft."""
    if request.method == "GET":
        return _render_form(None, {"currency": "cny", "resource_type": "gpu", "price_unit": "gpu_hour"}, {})
    raw, errors = form_to_document(request.form)
    raw["status"] = "draft" if request.form.get("action") == "draft" else "published"
    try:
        data = ListingCreateSchema().load(raw)
    except ValidationError as error:
        errors = form_errors(error.messages) | errors
    if errors:
        return _render_form(None, request.form, errors, 422)
    session = get_session()
    listing = publish_listing(
        session=session, seller=current_user, node_code=current_app.config["NODE_CODE"], data=data
    )
    session.commit()
    if listing.status == "draft":
        flash(_("Saved draft %(code)s.", code=listing.code), "success")
    else:
        flash(_("Published %(code)s.", code=listing.code), "success")
    return redirect(url_for("listings.detail", code=listing.code))


def _own_listing(code: str) -> Listing:
    return managed_listing(session=get_session(), code=code, user=current_user)


@bp.route("/listings/<code>/edit", methods=["GET", "POST"])
@page_role_required("seller")
def edit_listing(code: str):
    """Change a listing's document."""
    listing = _own_listing(code)
    if request.method == "GET":
        return _render_form(listing, document_to_form(listing), {})
    raw, errors = form_to_document(request.form)
    session = get_session()
    try:
        changes = ListingPatchSchema(partial=True).load(raw)
        if not errors:
            update_listing(session=session, listing=listing, changes=changes)
    except ValidationError as error:
        # Every error at once: the rules across fields are checked on what did load, too.
        merged = document_of(listing) | error.valid_data | {"status": listing.status}
        rules = document_rule_errors(merged, original=raw)
        errors = form_errors(rules | error.messages) | errors
    except DomainError as error:
        errors = form_errors(error.field_errors()) | errors
    if errors:
        session.rollback()
        return _render_form(listing, request.form, errors, 422)
    session.commit()
    flash(_("Saved %(code)s (version %(version)s).", code=listing.code, version=listing.version), "success")
    return redirect(url_for("listings.detail", code=listing.code))


@bp.get("/listings/<code>/retire")
@page_role_required("seller")
def confirm_retire(code: str):
    """Ask before retiring: a retired listing is off sale for good and its code is never reused."""
    listing = _own_listing(code)
    if listing.status == "retired":
        flash(f"{listing.code} is retired already.", "info")
        return redirect(url_for("listings.dashboard"))
    return render_template("listings/retire.html", listing=listing)


@bp.post("/listings/<code>/status")
@page_role_required("seller")
def change_status(code: str):
    """Publish, pause or resume a listing from the dashboard; retire it once confirmed."""
    listing = _own_listing(code)
    action = request.form.get("action", "")
    if action == "retire" and request.form.get("confirm") != "yes":
        return redirect(url_for("listings.confirm_retire", code=listing.code), 303)
    session = get_session()
    try:
        if action == "retire":
            retire_listing(session=session, listing=listing)
        elif action in _STATUS_ACTIONS:
            set_listing_status(session=session, listing=listing, status=_STATUS_ACTIONS[action])
        else:
            abort(400, description=f"Unknown action {action!r}.")
    except DomainError as error:
        session.rollback()
        if action == "publish" and isinstance(error, InvalidInput):
            # An incomplete draft: show its form with everything that is missing marked.
            session.refresh(listing)
            return _render_form(listing, document_to_form(listing), form_errors(error.field_errors()), 422)
        flash(f"{listing.code}: {translated_summary(error)}", "error")
        return redirect(url_for("listings.dashboard"))
    session.commit()
    flash(_("%(code)s is now %(status)s.", code=listing.code, status=term(listing.status)), "success")
    return redirect(url_for("listings.dashboard"))
