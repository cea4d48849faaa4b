"""The app factory: configuration, database, extensions, blueprints, errors and commands of a node.

The top of the layering (docs/ARCHITECTURE.md): it wires every package, and nothing imports it but
`marketplace/__init__.py`. Blueprints of national's registry and authorization server are registered on
national only.
"""

import logging

from flask import Flask, send_from_directory
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from swagger_ui_bundle import swagger_ui_path

from . import db, errors, i18n, inputs, limits, requestlog, security
from .accounts import auth
from .accounts.cli import tokens_cli, users_cli
from .accounts.language import bp as language_pages
from .accounts.national_login import bp as national_login
from .accounts.views import bp as accounts_pages
from .cli import db_cli
from .config import ROOT, load_config
from .federation import authserver
from .federation.api import blp as federation_api
from .federation.cli import federation_cli, keys_cli
from .federation.oauth_views import blp as oauth_blp
from .federation.oidc_views import blp as oidc_blp
from .federation.wellknown import blp as wellknown_blp
from .jsonprovider import OrjsonProvider
from .listings.api import blp as listings_api
from .listings.cli import demo_data
from .listings.views import bp as listings_pages
from .monitoring.audit_log import blp as audit_api
from .monitoring.health import blp as health_blp
from .monitoring.latency_api import blp as latency_api
from .monitoring.latency_api import national_blp as latency_matrix_api
from .monitoring.metrics import bp as metrics_pages
from .monitoring.views import bp as monitoring_pages
from .payments import hooks as payment_hooks
from .payments.cli import payments_cli
from .payments.views import bp as payment_pages
from .registry.api import blp as registry_api
from .registry.cli import registry_cli
from .registry.views import bp as registry_pages
from .sync.api import blp as sync_api
from .sync.cli import sync_cli
from .templating import init_app as init_templating
from .trading.api import listings_blp as trading_listings_api
from .trading.api import orders_blp as orders_api
from .trading.cli import orders_cli
from .trading.group_views import bp as order_group_pages
from .trading.groups_api import blp as order_groups_api
from .trading.match_api import blp as matches_api
from .trading.match_views import bp as match_pages
from .trading.origin_api import blp as federation_orders_api
from .trading.views import bp as trading_pages

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    """Build a node from the environment; `config` overrides settings (tests)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.json = OrjsonProvider(app)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per federation call is noise
    logging.getLogger("stripe").setLevel(logging.WARNING)  # two lines per Stripe request, likewise

    db.init_app(app)
    security.init_app(app)  # the proxy's client address before anything reads it; headers on every answer
    requestlog.init_app(app)  # every answer, a refusal too, gets its request id and log line
    inputs.init_app(app)  # bounded ids before any route; the input check before CSRF, limits and views
    i18n.init_app(app)
    csrf.init_app(app)
    limits.init_app(app)
    _init_api(app)
    payment_hooks.init_app(app)
    _init_pages(app)
    errors.init_app(app)
    _init_cli(app)
    return app


class NodeApi(Api):
    """flask-smorest's Api, documenting errors in the shape `errors.py` renders them."""

    ERROR_SCHEMA = errors.ErrorSchema


def _init_api(app: Flask) -> None:
    api = NodeApi(app, spec_kwargs={"servers": [{"url": app.config["PUBLIC_URL"]}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    blueprints = [listings_api, trading_listings_api, orders_api, order_groups_api, matches_api, health_blp,
                  wellknown_blp, federation_api, federation_orders_api, sync_api, audit_api, latency_api]  # fmt: skip
    if is_national(app):
        authserver.init_app(app)
        blueprints += [registry_api, oauth_blp, oidc_blp, latency_matrix_api]
    for blueprint in blueprints:
        csrf.exempt(blueprint)  # Bearer tokens, never cookies: nothing for a forged form to ride on
        api.register_blueprint(blueprint)

    # Swagger UI's assets are served from the node itself: no CDN is needed to read the docs.
    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.extensions["api"] = api


def _init_pages(app: Flask) -> None:
    auth.init_app(app)
    init_templating(app)
    app.register_blueprint(listings_pages)
    app.register_blueprint(accounts_pages)
    app.register_blueprint(trading_pages)
    app.register_blueprint(match_pages)
    app.register_blueprint(order_group_pages)
    app.register_blueprint(payment_pages)
    csrf.exempt("marketplace.payments.views.stripe_webhook")  # signed by Stripe, never sent by a browser
    app.register_blueprint(metrics_pages)
    app.register_blueprint(monitoring_pages)
    app.register_blueprint(language_pages)
    if is_national(app):
        app.register_blueprint(registry_pages)
    else:
        app.register_blueprint(national_login)


def _init_cli(app: Flask) -> None:
    for command in (db_cli, users_cli, tokens_cli, demo_data, keys_cli, federation_cli, sync_cli, orders_cli,
                    payments_cli):
        app.cli.add_command(command)
    if is_national(app):
        app.cli.add_command(registry_cli)


def is_national(app: Flask) -> bool:
    """Whether this node is the national node (registry, resolution, authorization server)."""
    return app.config["NODE_ROLE"] == "national"
