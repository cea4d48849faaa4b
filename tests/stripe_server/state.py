"""The server's memory: objects by id, the clock, ids with Stripe's prefixes, and the events they raise."""

import copy
import secrets
import string
import threading
import time

API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits


class StripeError(Exception):
    """An API error rendered in Stripe's shape: `{"error": {"type", "code", "message", "param"}}`."""

    def __init__(self, message, *, param=None, code=None, status=400, type="invalid_request_error", **extra):
        super().__init__(message)
        self.message, self.param, self.code, self.status, self.type, self.extra = (
            message, param, code, status, type, extra)  # fmt: skip

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message} | self.extra
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


class Store:
    """All state of one fake Stripe account; every read and change happens under `lock`."""

    def __init__(self, *, api_key: str, public_url: str = ""):
        self.lock = threading.RLock()
        self.api_key = api_key
        self.public_url = public_url  # where the hosted pages are served, set once the port is known
        self.objects: dict[str, dict] = {}  # id → object, in creation order
        self.idempotent: dict[str, tuple] = {}  # Idempotency-Key → (request fingerprint, status, body)
        self.offset = 0  # seconds the clock was advanced by
        self.listeners = []  # called with each new event (the webhook outbox)
        self.current_request = None  # the API request being answered: events name it, as Stripe's do

    def now(self) -> int:
        """The server's clock, in Unix seconds (real time plus what tests advanced it by)."""
        return int(time.time()) + self.offset

    @staticmethod
    def new_id(prefix: str, length: int = 24) -> str:
        """A fresh id with Stripe's prefix (`cs_test_…`, `pi_…`, `acct_…`)."""
        return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    def find(self, object_name: str, object_id: str) -> dict | None:
        """The stored object of that kind, or None."""
        obj = self.objects.get(object_id or "")
        return obj if obj is not None and obj["object"] == object_name else None

    def get(self, object_name: str, object_id: str, param: str = "id") -> dict:
        """The stored object of that kind, or Stripe's 404 `resource_missing` (400 when named by a parameter)."""
        obj = self.find(object_name, object_id)
        if obj is None:
            raise StripeError(f"No such {object_name.split('.')[-1]}: '{object_id}'", param=param,
                              code="resource_missing", status=404 if param == "id" else 400)  # fmt: skip
        return obj

    def all(self, object_name: str, where=lambda obj: True) -> list[dict]:
        """Objects of one kind, newest first (as Stripe lists them)."""
        return [obj for obj in reversed(self.objects.values()) if obj["object"] == object_name and where(obj)]

    def emit(self, event_type: str, obj: dict, previous: dict | None = None) -> dict:
        """Record an event with a snapshot of `obj` and hand it to the listeners (webhook delivery)."""
        data = {"object": public(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = self.add({
            "id": self.new_id("evt"), "object": "event", "api_version": API_VERSION, "created": self.now(),
            "data": data, "livemode": False, "pending_webhooks": len(self.listeners),
            "request": dict(self.current_request or {"id": None, "idempotency_key": None}),
            "type": event_type,
        })  # fmt: skip
        for listener in self.listeners:
            listener(event)
        return event

    def change(self, event_type: str, obj: dict, **changes) -> dict:
        """Set fields of `obj` and emit `event_type` with their previous values."""
        previous = {key: copy.deepcopy(obj.get(key)) for key in changes}
        obj.update(changes)
        return self.emit(event_type, obj, previous)


def public(obj: dict) -> dict:
    """A copy of `obj` as the API shows it: without the server's private fields (named `_…`)."""
    return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}
