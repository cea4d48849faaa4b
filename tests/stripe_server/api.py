"""The `/v1` API's common ground: authentication, parameters, idempotency, errors, `expand[]` and lists."""

import base64
import hashlib
import json
import operator

from flask import Flask, Response, current_app, request

from . import forms
from .state import API_VERSION, Store, StripeError, public


def store() -> Store:
    """The state of the server answering this request."""
    return current_app.extensions["stripe_store"]


def params() -> dict:
    """The request's parameters (the form body of a POST, the query of a GET), nested, without `expand`."""
    source = request.form if request.method == "POST" else request.args
    values = forms.parse_params(source)
    request.environ["stripe.expand"] = values.pop("expand", None) or []
    return values


def respond(obj: dict, status: int = 200) -> Response:
    """JSON of `obj` as Stripe renders it, with the `expand[]` paths of the request expanded."""
    body = public(obj)
    for path in request.environ.get("stripe.expand", []):
        body = _expand(body, obj, path.split("."))
    return json_response(body, status)


def _expand(body: dict, obj: dict, path: list[str]) -> dict:
    head, rest = path[0], path[1:]
    if head == "data" and isinstance(body.get("data"), list):
        body["data"] = [_expand(item, store().objects.get(item.get("id"), item), rest) for item in body["data"]]
        return body
    value = obj.get("_" + head, obj.get(head))  # a private field holds what is only shown expanded (line_items)
    if isinstance(value, str) and value in store().objects:
        target = store().objects[value]
        body[head] = _expand(public(target), target, rest) if rest else public(target)
    elif isinstance(value, dict) and head not in body:
        body[head] = public(value)
    elif head not in obj and ("_" + head) not in obj:
        raise forms.invalid(f"This property cannot be expanded ({head}).", "expand")
    return body


def listing(objects: list[dict], url: str, query: dict) -> Response:
    """A Stripe list: newest first, `limit` (1–100, default 10), `starting_after` / `ending_before` cursors."""
    limit = forms.integer(query, "limit", minimum=1)
    limit = 10 if limit is None else limit
    if limit > 100:
        raise forms.invalid("This value must be less than or equal to 100.", "limit", "parameter_invalid_integer")
    ids = [obj["id"] for obj in objects]
    if after := query.get("starting_after"):
        if after not in ids:
            raise forms.invalid(f"No such object: '{after}'", "starting_after", "resource_missing")
        page = objects[ids.index(after) + 1 :]
        has_more = len(page) > limit
        page = page[:limit]
    elif before := query.get("ending_before"):
        if before not in ids:
            raise forms.invalid(f"No such object: '{before}'", "ending_before", "resource_missing")
        page = objects[: ids.index(before)]
        has_more = len(page) > limit
        page = page[-limit:]
    else:
        page, has_more = objects[:limit], len(objects) > limit
    return respond({"object": "list", "data": page, "has_more": has_more, "url": url})


def add_retrieve(blueprint, collection: str, object_name: str) -> None:
    """`GET /v1/<collection>/<id>`: one stored object of that kind, with `expand[]`."""

    def retrieve(object_id):
        params()
        return respond(store().get(object_name, object_id))

    blueprint.add_url_rule(f"/v1/{collection}/<object_id>", f"retrieve_{collection}", retrieve, methods=["GET"])


PAGING = {"limit", "starting_after", "ending_before", "created"}


def list_of(object_name: str, url: str, filters: tuple[str, ...] = (), accepted: tuple[str, ...] = ()) -> Response:
    """A list endpoint: paging, `created`, and equality on the `filters` fields (`accepted` ones are ignored)."""
    query = params()
    forms.only(query, PAGING | set(filters) | set(accepted))
    created = created_filter(query)

    def wanted(obj):
        return created(obj) and all(obj[key] == query[key] for key in filters if query.get(key))

    return listing(store().all(object_name, wanted), url, query)


def created_filter(query: dict, key: str = "created"):
    """A predicate for `created=<ts>` or `created[gt|gte|lt|lte]=<ts>`."""
    value = query.get(key)
    if value in (None, ""):
        return lambda obj: True
    if not isinstance(value, dict):
        exact = forms.integer(query, key)
        return lambda obj: obj[key] == exact
    forms.only(value, {"gt", "gte", "lt", "lte"}, key)
    bounds = {op: forms.integer(value, op, f"{key}[{op}]") for op in value}
    compare = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
    return lambda obj: all(compare[op](obj[key], bound) for op, bound in bounds.items())


def json_response(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=2), status=status, mimetype="application/json")


def authenticate() -> Response | None:
    """Answer 401 unless the request carries the secret key (Bearer, or Basic with the key as user name)."""
    header = request.headers.get("Authorization", "")
    key = None
    if header.startswith("Bearer "):
        key = header[len("Bearer ") :].strip()
    elif header.startswith("Basic "):
        try:
            key = base64.b64decode(header[len("Basic ") :]).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        message = ("You did not provide an API key. You need to provide your API key in the Authorization header, "
                   "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")  # fmt: skip
        return json_response(StripeError(message, status=401).body(), 401)
    if key != store().api_key:
        masked = key[:8] + "*" * max(len(key) - 12, 4) + key[-4:]
        return json_response(StripeError(f"Invalid API Key provided: {masked}", status=401).body(), 401)
    return None


def _fingerprint() -> str:
    fields = sorted(request.form.items(multi=True))
    return hashlib.sha256(repr((request.method, request.path, fields)).encode()).hexdigest()


def replay_idempotent() -> Response | None:
    """A repeated POST with the same `Idempotency-Key` gets the first answer again; other parameters get a 400."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return None
    if len(key) > 255:
        raise forms.invalid("Idempotency-Key must be at most 255 characters", "Idempotency-Key")
    saved = store().idempotent.get(key)
    if saved is None:
        return None
    fingerprint, status, body = saved
    if fingerprint != _fingerprint():
        message = (f"Keys for idempotent requests can only be used with the same parameters they were first used "
                   f"with. Try using a key other than '{key}' if you meant to execute a different request.")
        return json_response(StripeError(message, type="idempotency_error").body(), 400)
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember_idempotent(response: Response) -> Response:
    """Save the answer of a POST that ran (Stripe saves no result for requests refused by validation)."""
    key = request.headers.get("Idempotency-Key")
    if request.method == "POST" and key and key not in store().idempotent and response.status_code in (200, 402):
        store().idempotent[key] = (_fingerprint(), response.status_code, response.get_data())
    if key:
        response.headers["Idempotency-Key"] = key
    return response


class LockedFlask(Flask):
    """Flask whose API and page requests run one at a time under the store's lock (the control API does not)."""

    def full_dispatch_request(self):
        if request.path.startswith("/_test/"):
            return super().full_dispatch_request()
        state = self.extensions["stripe_store"]
        with state.lock:
            if request.path.startswith("/v1/"):
                request.environ["stripe.request_id"] = Store.new_id("req", 14)
                state.current_request = {"id": request.environ["stripe.request_id"],
                                         "idempotency_key": request.headers.get("Idempotency-Key")}  # fmt: skip
            try:
                return super().full_dispatch_request()
            finally:
                state.current_request = None


def install(app: Flask) -> None:
    """Authentication, idempotency, request ids and error rendering for everything under `/v1/`."""

    @app.before_request
    def _before():
        if not request.path.startswith("/v1/"):
            return None
        if request.headers.get("Stripe-Account"):  # say so rather than answer as the platform
            raise StripeError("This test server does not model requests made on behalf of a connected account "
                              "(Stripe-Account header).", param="Stripe-Account")  # fmt: skip
        return authenticate() or replay_idempotent()

    @app.after_request
    def _after(response):
        if request.path.startswith("/v1/"):
            response.headers["Request-Id"] = request.environ.get("stripe.request_id", "")
            response.headers["Stripe-Version"] = request.headers.get("Stripe-Version", API_VERSION)
            response = remember_idempotent(response)
        return response

    @app.errorhandler(StripeError)
    def _stripe_error(error):
        return json_response(error.body(), error.status)

    @app.errorhandler(404)
    def _not_found(_error):
        message = f"Unrecognized request URL ({request.method}: {request.path}). Please see https://stripe.com/docs."
        return json_response(StripeError(message, status=404).body(), 404)

    @app.errorhandler(405)
    def _not_allowed(_error):
        message = f"Unrecognized request URL ({request.method}: {request.path}). Please see https://stripe.com/docs."
        return json_response(StripeError(message, status=404).body(), 404)
