"""`/registry/v1`: node applications, reviews, the directory and resolution (PROTOCOL.md §7)."""

from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import RAISE

from ..accounts.auth import api_auth_required, bearer_user
from ..db import get_session
from ..federation.keys import public_jwks
from ..federation.tokens import bearer_token
from ..limits import apply_account_limit, apply_limit, limiter
from ..models import NodeApplication
from .policy import RegistryRules, lapse_overdue_applications, lapses_at
from .schemas import (
    ApplicationOutSchema,
    ApplicationSchema,
    NodeFilterSchema,
    NodeListSchema,
    NodeSchema,
    ResolutionSchema,
    ReviewOutSchema,
    ReviewSchema,
    StatusChangeSchema,
    SubmittedSchema,
)
from .services import (
    NationalEntry,
    application_by_id,
    application_by_token,
    directory_entry,
    directory_node,
    due_stage,
    list_nodes,
    resolve_code,
    review_application,
    reviews_of,
    set_node_status,
    submit_application,
)

blp = Blueprint("registry_api", __name__, url_prefix="/registry/v1", description="National node registry")
REGISTRY_STAFF = ("local_reviewer", "national_reviewer", "operator")
_SECURED = [{"bearerAuth": []}]


def national_entry() -> NationalEntry:
    """The national node itself, as the directory lists it."""
    config = current_app.config
    return NationalEntry(code=config["NODE_CODE"], public_url=config["PUBLIC_URL"], jwks=public_jwks())


def registry_rules() -> RegistryRules:
    """The registry's settings from this node's configuration."""
    config = current_app.config
    return RegistryRules(
        review_period=timedelta(days=config["REGISTRY_REVIEW_DAYS"]),
        max_pending=config["REGISTRY_MAX_PENDING"],
        allow_private_urls=bool(config.get("FEDERATION_ALLOW_PRIVATE_ADDRESSES")),
    )


def applicant_key() -> str:
    """The signed-in account applying (token or session), for its own rate limit; empty when nobody is."""
    user = bearer_user() or (current_user if current_user.is_authenticated else None)
    return f"applicant:{user.id}" if user is not None else ""


def lapse_overdue() -> None:
    """Lapse what waited too long before showing or deciding anything (one UPDATE, usually of no row)."""
    session = get_session()
    if lapse_overdue_applications(session=session, review_period=registry_rules().review_period):
        session.commit()


def application_view(application: NodeApplication, **extra) -> dict:
    """An application with its due stage and recorded decisions, for output schemas."""
    reviews = reviews_of(session=get_session(), application=application)
    fields = {name: getattr(application, name) for name in NodeApplication.model_fields}
    lapses = lapses_at(application, registry_rules())
    return fields | {"due_stage": due_stage(application), "reviews": reviews, "lapses_at": lapses} | extra


@blp.route("/applications")
class Applications(MethodView):
    @blp.doc(security=_SECURED)
    @limiter.limit(apply_limit)
    @limiter.limit(apply_account_limit, key_func=applicant_key)
    @api_auth_required()
    @blp.arguments(ApplicationSchema())
    @blp.response(201, SubmittedSchema)
    @blp.alt_response(409, description="The code or province is taken, or too many applications are waiting")
    def post(self, data):
        """Apply to build a node, with an account's API token. Keep the returned access_token: it reads the status."""
        session = get_session()
        application, token = submit_application(
            session=session, data=data, applicant=bearer_user(), rules=registry_rules()
        )
        session.commit()
        # The access token is in this answer once: no cache on the way may keep it.
        return application_view(application, access_token=token), {"Cache-Control": "no-store"}


def _readable_application(application_id: int) -> NodeApplication:
    """The application, for its applicant (account or access token) or registry staff; 404 for anyone else."""
    lapse_overdue()
    session = get_session()
    user = bearer_user()
    if user is not None:
        application = session.get(NodeApplication, application_id)
        if application is not None and (user.role in REGISTRY_STAFF or application.applicant_id == user.id):
            return application
    token = bearer_token()
    application = application_by_token(session=session, application_id=application_id, token=token) if token else None
    if application is None:
        abort(404, message=f"No application {application_id} that you may read.")
    return application


@blp.route("/applications/<int:application_id>")
class ApplicationItem(MethodView):
    @blp.doc(security=_SECURED)
    @blp.response(200, ApplicationOutSchema)
    def get(self, application_id):
        """An application's status and decisions (the applicant's access token, or registry staff)."""
        return application_view(_readable_application(application_id))


@blp.route("/applications/<int:application_id>/reviews")
class ApplicationReviews(MethodView):
    @blp.doc(security=_SECURED)
    @api_auth_required("local_reviewer", "national_reviewer")
    @blp.arguments(ReviewSchema())
    @blp.response(201, ReviewOutSchema)
    @blp.alt_response(409, description="Not the stage that is due, or decided already")
    def post(self, data, application_id):
        """Approve or reject at the stage that is due, with a reason."""
        session = get_session()
        application = application_by_id(session=session, application_id=application_id)
        review = review_application(
            session=session, application=application, reviewer=bearer_user(), rules=registry_rules(), **data
        )
        session.commit()
        return review


@blp.route("/nodes")
class Nodes(MethodView):
    @blp.arguments(NodeFilterSchema(), location="query", unknown=RAISE)
    @blp.response(200, NodeListSchema)
    def get(self, filters):
        """The node directory: national, regional and industry nodes with status, URL and keys."""
        return {"nodes": list_nodes(session=get_session(), national=national_entry(), filters=filters)}


@blp.route("/nodes/<code>")
class NodeItem(MethodView):
    @blp.response(200, NodeSchema)
    def get(self, code):
        """One node of the directory."""
        return directory_entry(session=get_session(), national=national_entry(), code=code)


def _change_status(code: str, status: str, data: dict):
    session = get_session()
    node = directory_node(session=session, code=code)
    set_node_status(session=session, node=node, status=status, reason=data["reason"], actor=bearer_user().email)
    session.commit()
    return node


@blp.route("/nodes/<code>/suspend", methods=["POST"])
@blp.doc(security=_SECURED)
@api_auth_required("operator")
@blp.arguments(StatusChangeSchema())
@blp.response(200, NodeSchema)
def suspend(data, code):
    """Suspend a node: it gets no tokens and its pushes are refused."""
    return _change_status(code, "suspended", data)


@blp.route("/nodes/<code>/reactivate", methods=["POST"])
@blp.doc(security=_SECURED)
@api_auth_required("operator")
@blp.arguments(StatusChangeSchema())
@blp.response(200, NodeSchema)
def reactivate(data, code):
    """Reactivate a suspended node."""
    return _change_status(code, "active", data)


@blp.route("/resolve/<path:code>")
class Resolve(MethodView):
    @blp.response(200, ResolutionSchema)
    @blp.alt_response(404, description="No node with that prefix")
    @blp.alt_response(422, description="Malformed code or wrong check character")
    def get(self, code):
        """Where a resource identification code comes from, and its listing's status and version."""
        viewer = bearer_user() or (current_user if current_user.is_authenticated else None)
        return resolve_code(session=get_session(), national=national_entry(), code=code, viewer=viewer)
