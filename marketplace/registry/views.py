"""Registry pages (national): apply, follow an application, review it, the node tree, the overview, resolution."""

from datetime import date, timedelta
from math import ceil

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import current_user
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import select

from ..accounts.auth import page_role_required
from ..db import get_session
from ..errors import DomainError
from ..i18n import _, current_locale
from ..i18n.words import term
from ..identity.regions import province_name
from ..limits import apply_account_limit, apply_limit, limiter
from ..models import NodeApplication
from ..security import no_store
from .api import REGISTRY_STAFF, applicant_key, lapse_overdue, national_entry, registry_rules
from .forms import AccessTokenForm, NodeStatusForm, form_errors, form_to_document
from .policy import may_review
from .schemas import ApplicationSchema, ReviewSchema
from .services import (
    REVIEWER_FOR_STAGE,
    application_by_id,
    application_by_token,
    directory_entry,
    directory_node,
    due_stage,
    list_nodes,
    node_tree,
    overview,
    resolve_code,
    review_application,
    reviews_of,
    set_node_status,
    status_changes,
    submit_application,
)

bp = Blueprint("registry", __name__)
bp.add_app_template_global(REVIEWER_FOR_STAGE, "REVIEWER_FOR_STAGE")
STAGE_OF_REVIEWER = {role: stage for stage, role in REVIEWER_FOR_STAGE.items()}
_TOKENS = "registry_tokens"  # Flask session: application id -> its access token, so this browser can follow it
_SHOW_TOKEN = "registry_show_token"  # the application whose token the next status page shows, once
_MAX_REMEMBERED = 20  # the session is a cookie: keep it small


def _form() -> dict[str, str]:
    """The submitted form without its CSRF token; blank fields left out, so `required` speaks for them."""
    return {key: value.strip() for key, value in request.form.items() if key != "csrf_token" and value.strip()}


def _user():
    return current_user if current_user.is_authenticated else None


def _parent_options() -> list[tuple[str, str]]:
    """National, then every active regional node: the parents an application may name."""
    national = national_entry()
    regional = list_nodes(session=get_session(), national=national, filters={"role": "regional", "status": "active"})
    locale = current_locale()
    return [(national.code, _("%(code)s · the national node (for regional nodes)", code=national.code))] + [
        (entry.code, f"{entry.code} · {entry.name} ({province_name(entry.province, locale)})") for entry in regional
    ]


def _apply_page(values, errors, status=200):
    page = render_template("registry/apply.html", values=values, errors=errors, parent_options=_parent_options())
    return page, status


@bp.route("/registry/apply", methods=["GET", "POST"])
@limiter.limit(apply_limit, methods=["POST"])
@limiter.limit(apply_account_limit, methods=["POST"], key_func=applicant_key)
@page_role_required()
def apply():
    """Apply to build a regional or industry node (signed in); the access token is shown once, on the status page."""
    if request.method == "GET":
        return _apply_page({"role": "regional", "parent": national_entry().code}, {})
    raw, errors = form_to_document(request.form)
    try:
        data = ApplicationSchema().load(raw)
    except ValidationError as error:
        errors = form_errors(error.messages) | errors
    session = get_session()
    if not errors:
        try:
            application, token = submit_application(
                session=session, data=data, applicant=current_user, rules=registry_rules()
            )
        except DomainError as error:
            session.rollback()
            errors = form_errors(error.field_errors()) or {"requested_code": [error.message]}
    if errors:
        return _apply_page(request.form, errors, 422)
    session.commit()
    _remember(application.id, token)
    web_session[_SHOW_TOKEN] = application.id
    submitted = _("Application %(id)s for %(code)s is submitted.", id=application.id, code=application.requested_code)
    flash(submitted, "success")
    return redirect(url_for(".application", application_id=application.id), 303)


def _remember(application_id: int, token: str) -> None:
    tokens = {key: value for key, value in web_session.get(_TOKENS, {}).items() if key != str(application_id)}
    tokens[str(application_id)] = token
    web_session[_TOKENS] = dict(list(tokens.items())[-_MAX_REMEMBERED:])


def _readable(application_id: int) -> NodeApplication | None:
    """The application if this visitor may read it: registry staff, its applicant, or its token in the session."""
    session = get_session()
    application = session.get(NodeApplication, application_id)
    user = _user()
    if application is None:
        return None
    if user is not None and (user.role in REGISTRY_STAFF or application.applicant_id == user.id):
        return application
    token = web_session.get(_TOKENS, {}).get(str(application_id))
    return application_by_token(session=session, application_id=application_id, token=token) if token else None


@bp.route("/registry/applications/<int:application_id>", methods=["GET", "POST"])
def application(application_id: int):
    """An application's status and decisions; a POSTed access token opens it for this browser."""
    if request.method == "POST":
        return _open_with_token(application_id)
    lapse_overdue()
    found = _readable(application_id)
    if found is None:
        return _token_page(application_id, {}, 404)
    token = None
    if web_session.get(_SHOW_TOKEN) == application_id:
        web_session.pop(_SHOW_TOKEN)
        token = web_session.get(_TOKENS, {}).get(str(application_id))
    user = _user()
    page = render_template(
        "registry/application.html",
        application=found,
        reviews=reviews_of(session=get_session(), application=found),
        due=due_stage(found),
        token=token,
        may_review=user is not None
        and due_stage(found) == STAGE_OF_REVIEWER.get(user.role)
        and may_review(session=get_session(), application=found, reviewer=user),
    )
    return no_store(make_response(page)) if token else page


def _token_page(application_id: int, errors: dict, status: int):
    """What anyone without access sees, whether or not the application exists: a form for its access token."""
    return render_template("registry/token.html", application_id=application_id, errors=errors), status


def _open_with_token(application_id: int):
    try:
        data = AccessTokenForm(unknown=EXCLUDE).load(_form())
    except ValidationError as error:
        return _token_page(application_id, error.messages, 422)
    if application_by_token(session=get_session(), application_id=application_id, token=data["access_token"]) is None:
        errors = {"access_token": [f"This is not the access token of application {application_id}."]}
        return _token_page(application_id, errors, 404)
    _remember(application_id, data["access_token"])
    return redirect(url_for(".application", application_id=application_id), 303)


@bp.get("/registry/review")
@page_role_required(*STAGE_OF_REVIEWER)
def review_queue():
    """The applications whose due review is this reviewer's: initial for local, final for national reviewers."""
    stage = STAGE_OF_REVIEWER[current_user.role]
    lapse_overdue()
    session = get_session()
    undecided = session.scalars(
        select(NodeApplication).where(NodeApplication.decided_at.is_(None)).order_by(NodeApplication.id)
    )
    # Only what this reviewer may decide: not their own applications, and a local reviewer's scope only.
    due = [application for application in undecided if due_stage(application) == stage
           and may_review(session=session, application=application, reviewer=current_user)]  # fmt: skip
    return render_template("registry/review_queue.html", applications=due, stage=stage)


def _review_page(application, values, errors, status=200):
    reviews = reviews_of(session=get_session(), application=application)
    page = render_template("registry/review.html", application=application, due=due_stage(application),
                           reviews=reviews, values=values, errors=errors)  # fmt: skip
    return page, status


@bp.route("/registry/applications/<int:application_id>/review", methods=["GET", "POST"])
@page_role_required(*STAGE_OF_REVIEWER)
def review(application_id: int):
    """Approve or reject an application at the stage that is due, with a reason."""
    session = get_session()
    application = application_by_id(session=session, application_id=application_id)
    due = due_stage(application)
    if due is not None and REVIEWER_FOR_STAGE[due] != current_user.role:
        abort(403, description=f"The {due} review of application {application_id} is for a "
                               f"{REVIEWER_FOR_STAGE[due]}; your account is a {current_user.role}.")  # fmt: skip
    if request.method == "GET":
        return _review_page(application, {"stage": due}, {})
    if due is None:
        message = f"Application {application_id} is {application.status} already; its decisions stand."
        return _review_page(application, {}, {"stage": [message]}, 409)
    try:
        data = ReviewSchema(unknown=EXCLUDE).load(_form())
        review_application(
            session=session, application=application, reviewer=current_user, rules=registry_rules(), **data
        )
    except ValidationError as error:
        return _review_page(application, request.form, error.messages, 422)
    except DomainError as error:
        session.rollback()
        return _review_page(application, request.form, error.field_errors() or {"stage": [error.message]}, error.status)
    session.commit()
    outcome = {"approved": _("%(code)s is now active in the directory", code=application.requested_code),
               "rejected": _("the application is rejected"),
               "initial_approved": _("the final review at national is due")}[application.status]  # fmt: skip
    flash(_("Recorded your %(stage)s review of application %(id)s (%(decision)s): %(outcome)s.",
            stage=term(data["stage"]), decision=term(data["decision"]), id=application_id, outcome=outcome),
          "success")  # fmt: skip
    return redirect(url_for(".application", application_id=application_id), 303)


@bp.get("/registry/nodes")
def nodes():
    """The federation as its tree: national, its regional nodes, their industry nodes; a table below."""
    session = get_session()
    national = national_entry()
    tree = node_tree(session=session, national=national)
    return render_template("registry/nodes.html", tree=tree, nodes=list_nodes(session=session, national=national))


def _node_page(entry, errors=None, status=200):
    session = get_session()
    national = national_entry()
    is_national = entry.code == national.code
    page = render_template(
        "registry/node.html",
        entry=entry,
        changes=[] if is_national else status_changes(session=session, node=entry),
        children=list_nodes(session=session, national=national, filters={"parent": entry.code}),
        is_national=is_national,
        errors=errors or {},
        values=request.form if errors else {},
    )
    return page, status


@bp.get("/registry/nodes/<code>")
def node(code: str):
    """One node: where it sits in the tree, its keys, and its suspensions and reactivations."""
    return _node_page(directory_entry(session=get_session(), national=national_entry(), code=code))


@bp.post("/registry/nodes/<code>/status")
@page_role_required("operator")
def change_node_status(code: str):
    """Suspend or reactivate a node, with the reason recorded."""
    session = get_session()
    node = directory_node(session=session, code=code)
    try:
        data = NodeStatusForm(unknown=EXCLUDE).load(_form())
        set_node_status(session=session, node=node, status=data["status"], reason=data["reason"],
                        actor=current_user.email)  # fmt: skip
    except ValidationError as error:
        return _node_page(node, error.messages, 422)
    except DomainError as error:
        session.rollback()
        return _node_page(node, error.field_errors() or {"status": [error.message]}, error.status)
    session.commit()
    flash(_("%(code)s is now %(status)s.", code=node.code, status=term(node.status)), "success")
    return redirect(url_for(".node", code=node.code), 303)


@bp.get("/registry/overview")
@page_role_required("operator")
def overview_page():
    """For operators: nodes by role and status, applications waiting at each stage, decisions per day."""
    lapse_overdue()
    counts = overview(session=get_session())
    nodes_by_role = {
        role: {status: counts["nodes"].get((role, status), 0) for status in ("active", "suspended")}
        for role in ("regional", "industry")
    }
    return render_template("registry/overview.html", nodes=nodes_by_role, waiting=counts["waiting"],
                           chart=decision_chart(counts["decisions"]))  # fmt: skip


CHART_DAYS = 30
_PLOT_HEIGHT, _LEFT, _TOP, _BOTTOM, _SLOT = 180, 36, 12, 28, 26


def decision_chart(decisions: dict[str, dict[str, int]]) -> dict:
    """Geometry of a bar chart of approvals and rejections per day, for an inline SVG (no script, no library)."""
    if not decisions:
        return {"days": [], "bars": [], "labels": [], "ticks": [], "width": 0, "height": 0}
    last = date.fromisoformat(max(decisions))
    first = max(date.fromisoformat(min(decisions)), last - timedelta(days=CHART_DAYS - 1))
    days = []
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        counts = decisions.get(day, {})
        days.append((day, counts.get("approve", 0), counts.get("reject", 0)))
    top = max(max(approve, reject) for _day, approve, reject in days) or 1
    scale = _PLOT_HEIGHT / top
    bars, labels = [], []
    every = ceil(len(days) / 10)  # at most ten date labels
    for index, (day, approve, reject) in enumerate(days):
        x = _LEFT + index * _SLOT + 3
        for kind, count, shift in (("approve", approve, 0), ("reject", reject, 10)):
            height = round(count * scale, 1)
            y = _TOP + _PLOT_HEIGHT - height
            bars.append({"x": x + shift, "y": y, "height": height, "kind": kind, "count": count, "day": day})
        if index % every == 0:
            labels.append({"x": x + 10, "text": day[5:]})
    ticks = sorted({0, ceil(top / 2), top})
    return {
        "days": days,
        "bars": bars,
        "labels": labels,
        "ticks": [{"value": value, "y": round(_TOP + _PLOT_HEIGHT - value * scale, 1)} for value in ticks],
        "width": max(_LEFT + len(days) * _SLOT + 8, 320),  # a lone day still gets a readable axis
        "height": _TOP + _PLOT_HEIGHT + _BOTTOM,
        "left": _LEFT,
        "baseline": _TOP + _PLOT_HEIGHT,
    }


@bp.get("/resolve")
def resolve():
    """Where a resource identification code comes from, and its listing's status and version when known."""
    code = request.args.get("code", "").strip()
    result, errors, status = None, {}, 200
    if code:
        try:
            result = resolve_code(session=get_session(), national=national_entry(), code=code, viewer=current_user)
        except DomainError as error:  # shown next to the form: a mistyped code, or an unknown node
            errors, status = {"code": [error.message]}, error.status
    return render_template("registry/resolve.html", code=code, result=result, errors=errors), status
