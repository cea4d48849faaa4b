"""Database engine and the one session per request, kept on `g`."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend behind `url`."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        _make_sqlite_transactional(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        # Statements run five times are prepared (psycopg's default): a bulk upsert of sync parses
        # its INSERT once, not once per row. Every execution still gets a plan for its actual
        # parameters: a generic plan turned a 2 ms text search into 1.8 s.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it sat idle: a dead one is replaced, not handed out.

    SQLAlchemy's `pool_pre_ping` pings on every checkout, a round trip per request; a connection
    given back a moment ago is as good as the answer that came on it then.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (SQLAlchemy's documented pattern).
            raise exc.DisconnectionError(f"the pooled connection no longer answers: {error}") from error


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy issue BEGIN itself, so SAVEPOINTs work, and set pragmas."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Reads (GET requests) begin deferred, so searches run side by side. Everything else begins
        # IMMEDIATE: a transaction that reads, then writes, would otherwise fail at once with
        # "database is locked" when another process wrote in between; now it waits its turn.
        connection.exec_driver_sql("BEGIN" if _reading() else "BEGIN IMMEDIATE")


class Database:
    """The engine and session factory of one app, and of its read replica when it has one."""

    def __init__(self, url: str, read_url: str | None = None):
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, class_=Session, expire_on_commit=False)
        self.read_engine = make_engine(read_url) if read_url else None
        self.read_sessionmaker = (
            sessionmaker(bind=self.read_engine, class_=Session, expire_on_commit=False) if read_url else None
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for work outside a request (CLI, workers); commits are the caller's."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()


def init_app(app: Flask) -> None:
    """Create the app's database and close the request session at teardown."""
    app.extensions["db"] = Database(app.config["DATABASE_URL"], app.config.get("DATABASE_READ_URL"))
    app.teardown_appcontext(_close_session)


def get_db() -> Database:
    """The current app's database."""
    return current_app.extensions["db"]


def get_session() -> Session:
    """The session of the current request, opened on first use: on the read replica (DATABASE_READ_URL) for a
    GET of a view marked @replica_read, on the primary for everything else.

    A GET on PostgreSQL runs in autocommit: reads need no BEGIN and ROLLBACK round trips, and the
    rare GET that writes (an authorization code, an account made at national sign-in) commits each
    statement, so it writes in one statement.
    """
    if "db_session" not in g:
        db = get_db()
        on_replica = db.read_sessionmaker is not None and _reading() and _replica_allowed()
        session = db.read_sessionmaker() if on_replica else db.sessionmaker()
        bind = session.get_bind()
        if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and _reading():
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.db_session = session
    return g.db_session


def insert_for(session: Session, table):
    """An INSERT into `table` that takes ON CONFLICT clauses, in the dialect of the session's database."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def end_reading() -> None:
    """Before waiting on another node: end the request's transaction if it has only read, so nothing is held.

    On SQLite a POST's transaction holds the database's write lock from its first statement; the node
    called may call this one back (national introspecting its own token) and would wait for that lock.
    """
    session = g.get("db_session")
    if session is not None and session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


def about_to_write() -> None:
    """A GET that reads, then writes (an account made at national sign-in, an order read again at its origin).

    On SQLite its next transaction begins IMMEDIATE: a read transaction cannot become a write one once
    another connection (the sync worker) has committed since it began ("database is locked" at once).
    """
    g.db_about_to_write = True
    session = g.get("db_session")
    if session is not None and session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.commit()  # what was read so far stays; the next statement begins the writing transaction


def replica_read(view):
    """Mark a view whose GETs may read from the read replica: it writes nothing, and a reader of it may see
    the catalogue as it was a moment ago (a listing published a moment ago may be missing from a search)."""
    view.replica_read = True
    return view


def _replica_allowed() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    # A MethodView's function stands for the class; the mark sits on its method.
    view = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    return getattr(view, "replica_read", False)


def _reading() -> bool:
    return (has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
            and not g.get("db_about_to_write"))  # fmt: skip


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
