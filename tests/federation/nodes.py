"""Several nodes in one process, each with its own database and keys, their HTTP routed to each other."""

import sqlite3
from dataclasses import dataclass, field

import httpx
from flask import Flask

from marketplace import create_app
from marketplace.federation.keys import init_keys, public_jwks
from marketplace.federation.scopes import redirect_uris_for
from marketplace.models import Node

NATIONAL_URL = "http://national.test"


@dataclass
class Federation:
    """National and its nodes, by code."""

    apps: dict[str, Flask] = field(default_factory=dict)

    @property
    def national(self) -> Flask:
        return self.apps["N0"]

    def __getitem__(self, code: str) -> Flask:
        return self.apps[code]

    def route_http(self, down: dict | None = None) -> None:
        """Every app's outbound HTTP reaches the other apps in-process, over real WSGI; nodes in `down` refuse."""

        def refuse(request):
            raise httpx.ConnectError("connection refused", request=request)

        mounts = {self.url(code): httpx.WSGITransport(app=app) for code, app in self.apps.items()}
        for code in down or {}:
            mounts[self.url(code)] = httpx.MockTransport(refuse)
        for app in self.apps.values():
            app.extensions["http_client"] = httpx.Client(mounts=mounts, follow_redirects=False)

    @staticmethod
    def url(code: str) -> str:
        return NATIONAL_URL if code == "N0" else f"http://{code.lower()}.test"

    def register(self, code: str, role: str = "regional", parent: str = "N0", status: str = "active") -> None:
        """Put a node into national's directory with its current public keys."""
        with self[code].app_context():
            jwks = public_jwks()
        with self.national.app_context():
            with self.national.extensions["db"].session() as session:
                province = code[1:] if role == "regional" else None
                session.add(Node(code=code, role=role, parent=parent, name=f"Node {code}", public_url=self.url(code),
                                 jwks=jwks, status=status, province=province,
                                 redirect_uris=redirect_uris_for(self.url(code))))  # fmt: skip
                session.commit()

    def set_status(self, code: str, status: str) -> None:
        with self.national.app_context(), self.national.extensions["db"].session() as session:
            session.get(Node, code).status = status
            session.commit()

    def dispose(self) -> None:
        for app in self.apps.values():
            app.extensions["db"].engine.dispose()


def copy_sqlite(source: str, target: str) -> None:
    """A consistent copy of a migrated SQLite database."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def node_app(*, code: str, role: str, database_url: str, keys_file: str, parent_url: str = "") -> Flask:
    """A node app on its own database with its own signing keys."""
    app = create_app({
        "DATABASE_URL": database_url, "NODE_CODE": code, "NODE_ROLE": role, "TESTING": True,
        "SECRET_KEY": f"secret-{code}", "PUBLIC_URL": Federation.url(code), "NATIONAL_URL": NATIONAL_URL,
        "PARENT_URL": parent_url or NATIONAL_URL,
        "SIGNING_KEYS_FILE": keys_file, "FEDERATION_ALLOW_PRIVATE_ADDRESSES": True,
    })  # fmt: skip
    with app.app_context():
        init_keys()
    return app
