"""Settings from the environment, with defaults that run a node on a laptop."""

import os
import re
import secrets
from pathlib import Path

NODE_ROLES = ("national", "regional", "industry")
NODE_CODE_PATTERNS = {
    "national": re.compile(r"^N0$"),
    "regional": re.compile(r"^R[0-9]{2}$"),
    "industry": re.compile(r"^I[A-T][0-9]{2}$"),
}

ROOT = Path(__file__).resolve().parent.parent  # the repository: migrations/, templates/, instance/


class ConfigError(RuntimeError):
    """The environment describes a node that cannot run."""


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual short form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Created with owner-only permissions: it signs every session cookie.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _int_setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def load_config(instance_path: str) -> dict:
    """Build the Flask config of this node from the environment."""
    instance = Path(instance_path)
    role = os.environ.get("NODE_ROLE", "regional")
    if role not in NODE_ROLES:
        raise ConfigError(f"NODE_ROLE must be one of {', '.join(NODE_ROLES)}, not {role!r}")
    code = os.environ.get("NODE_CODE", {"national": "N0", "regional": "R11", "industry": "IJ01"}[role])
    code = code.upper()
    if not NODE_CODE_PATTERNS[role].match(code):
        raise ConfigError(f"NODE_CODE {code!r} is not a valid code for a {role} node")
    default_db = f"sqlite:///{instance / 'marketplace.sqlite3'}"
    hold_seconds = os.environ.get("ORDER_HOLD_SECONDS", "3600")
    if not hold_seconds.isdigit() or int(hold_seconds) < 1:
        raise ConfigError(f"ORDER_HOLD_SECONDS must be a positive number of seconds, not {hold_seconds!r}")
    return {
        "SECRET_KEY": _secret_key(instance),
        "DATABASE_URL": normalize_database_url(os.environ.get("DATABASE_URL", default_db)),
        # A streaming replica of DATABASE_URL (optional): searches, the search page, the change feed and
        # snapshots read from it; every write, and every read that must see its own write, stays on the primary.
        "DATABASE_READ_URL": normalize_database_url(os.environ["DATABASE_READ_URL"])
        if os.environ.get("DATABASE_READ_URL")
        else None,
        "NODE_ROLE": role,
        "NODE_CODE": code,
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "NATIONAL_URL": os.environ.get("NATIONAL_URL", "").rstrip("/"),
        "PARENT_URL": os.environ.get("PARENT_URL", "").rstrip("/"),
        # Development and tests run every node on 127.0.0.1; production fetches only public https URLs.
        "FEDERATION_ALLOW_PRIVATE_ADDRESSES": os.environ.get("FEDERATION_ALLOW_PRIVATE_ADDRESSES", "") == "1",
        "SIGNING_KEYS_FILE": os.environ.get("SIGNING_KEYS_FILE", ""),
        # The registry (national): an application not decided within this many days lapses and frees
        # its code; one account may have this many applications waiting at a time.
        "REGISTRY_REVIEW_DAYS": _int_setting("REGISTRY_REVIEW_DAYS", 30),
        "REGISTRY_MAX_PENDING": _int_setting("REGISTRY_MAX_PENDING", 3),
        # How long an order holds its units before it lapses unless paid or confirmed (PROTOCOL.md §8).
        "ORDER_HOLD_SECONDS": int(hold_seconds),
        # Payments (PROTOCOL.md §9): Stripe only with a secret key; without one the node takes invoices alone.
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "").rstrip("/"),
        "COMMISSION_BPS": _int_setting("COMMISSION_BPS", 500),
        "FREE_CANCEL_HOURS": _int_setting("FREE_CANCEL_HOURS", 24),
        # What an invoice tells the buyer to pay to (bank transfer).
        "INVOICE_ACCOUNT": os.environ.get("INVOICE_ACCOUNT", ""),
        # Nodes sharing a host name (127.0.0.1 in development) must not overwrite each other's cookies.
        "SESSION_COOKIE_NAME": f"session_{code.lower()}",
        "REMEMBER_COOKIE_NAME": f"remember_{code.lower()}",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("PUBLIC_URL", "").startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
        # National: seconds an origin may stay unreachable before its listings are marked stale.
        "SYNC_STALE_AFTER": int(os.environ.get("SYNC_STALE_AFTER", "3600")),
        # One JSON line per request, and the per-request HTTP metrics; off only to measure what they cost.
        "LOG_REQUESTS": os.environ.get("LOG_REQUESTS", "1") != "0",
        "REQUEST_METRICS": os.environ.get("REQUEST_METRICS", "1") != "0",
        "METRICS_ALLOW": os.environ.get("METRICS_ALLOW", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Nodes may share one Redis: each counts under its own code.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", f"cpn-{code.lower()}"),
        # How many reverse proxies in front of the node append X-Forwarded-For/-Proto (0: none, the
        # peer's address is the client's). Too many lets clients forge their address; too few makes
        # every client look like the proxy and share its limits.
        "TRUSTED_PROXIES": _int_setting("TRUSTED_PROXIES", 0),
        "WTF_CSRF_TIME_LIMIT": None,
        # flask-smorest
        "API_TITLE": "Computing power marketplace",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
    }


def payment_providers(config) -> tuple[str, ...]:
    """The payment providers a node offers, the default first: Stripe only where it has a secret key."""
    return ("stripe", "invoice") if config.get("STRIPE_SECRET_KEY") else ("invoice",)


# Stripe refuses a Checkout Session whose `expires_at` is under 30 minutes ahead (PROTOCOL.md §9).
STRIPE_MIN_HOLD_SECONDS = 31 * 60


def hold_seconds_for(config, provider: str) -> int:
    """How long a new order's hold lasts: the node's setting, at least 31 minutes when paid through Stripe."""
    hold = config["ORDER_HOLD_SECONDS"]
    return max(hold, STRIPE_MIN_HOLD_SECONDS) if provider == "stripe" else hold
