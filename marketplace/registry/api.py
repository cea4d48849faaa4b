"""`/registry/v1`: node applications, reviews, the directory and resolution (PROTOCOL.md §7)."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE

from ..accounts.auth import api_auth_required, bearer_user
from ..db import get_session
from ..federation.keys import public_jwks
from ..federation.tokens import bearer_token
from ..models import NodeApplication
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


def application_view(application: NodeApplication, **extra) -> dict:
    """An application with its due stage and recorded decisions, for output schemas."""
    reviews = reviews_of(session=get_session(), application=application)
    fields = {name: getattr(application, name) for name in NodeApplication.model_fields}
    return fields | {"due_stage": due_stage(application), "reviews": reviews} | extra


@blp.route("/applications")
class Applications(MethodView):
    @blp.arguments(ApplicationSchema())
    @blp.response(201, SubmittedSchema)
    @blp.alt_response(409, description="The code or province is taken")
    def post(self, data):
        """Apply to build a node. Keep the returned access_token: it reads the application's status."""
        session = get_session()
        application, token = submit_application(session=session, data=data, applicant=bearer_user())
        session.commit()
        return application_view(application, access_token=token)


def _readable_application(application_id: int) -> NodeApplication:
    """The application, for its applicant's token or registry staff; 404 for anyone else."""
    session = get_session()
    user = bearer_user()
    if user is not None and user.role in REGISTRY_STAFF:
        application = session.get(NodeApplication, application_id)
    else:
        token = bearer_token()
        application = (
            application_by_token(session=session, application_id=application_id, token=token) if token else None
        )
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
        review = review_application(session=session, application=application, reviewer=bearer_user(), **data)
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
        return resolve_code(session=get_session(), national=national_entry(), code=code)
