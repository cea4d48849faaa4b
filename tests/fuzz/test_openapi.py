"""schemathesis over each node's own OpenAPI document: no 5xx, and every answer matches its documented schema.

A national and a regional node, each on a database of its own (PostgreSQL where TEST_DATABASE_URL
is set, else SQLite), are called in-process through WSGI with the API tokens of registry staff and
of a seller. The budget is fixed (MAX_EXAMPLES per operation and role, no deadline) so the run fits CI.
"""

import itertools
import os
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from ..conftest import BACKENDS, PG_SCHEMA, admin_sql, migrated_app
from ..factories import bearer, make_listing, make_user

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
NODES = {
    "national": {"NODE_CODE": "N0", "NODE_ROLE": "national", "PUBLIC_URL": "https://national.example.cn"},
    "regional": {"NODE_CODE": "R44", "NODE_ROLE": "regional", "PUBLIC_URL": "https://r44.example.cn",
                 "NATIONAL_URL": "https://national.example.cn"},
}  # fmt: skip
STAFF = {"national": "national_reviewer", "regional": "operator"}


@pytest.fixture(params=BACKENDS[-1:])
def database(request, tmp_path) -> Iterator[tuple[str, str]]:
    """A fresh database for one fuzzed node: (url, PostgreSQL schema).

    PostgreSQL where TEST_DATABASE_URL is set (the backend that refuses what SQLite stores), else SQLite:
    the fuzzer's budget is spent once, not once per backend.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fuzz.sqlite3'}", PG_SCHEMA
        return
    from marketplace.config import normalize_database_url

    url, schema = normalize_database_url(os.environ["TEST_DATABASE_URL"]), f"{PG_SCHEMA}_fuzz"
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    yield url, schema
    admin_sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _seed(app, role: str) -> dict[str, dict]:
    """A few listings to find, and the API headers of a staff account and of a seller."""
    with app.app_context():
        with app.extensions["db"].session() as session:
            seller = make_user(session, role="seller", name="Fuzz Seller")
            staff = make_user(session, role=STAFF[role], name="Fuzz Staff")
            for price in (1200, 2050):
                make_listing(session, seller, node_code=app.config["NODE_CODE"], unit_price=price)
            headers = {"staff": bearer(session, staff), "seller": bearer(session, seller)}
            session.commit()
    return headers


def _run(schema, headers: dict) -> tuple[list[str], Counter]:
    """Every operation of the document, fuzzed with `headers` (valid and invalid input): failures and statuses."""
    failures: list[str] = []
    statuses: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def fuzz(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses[response.status_code] += 1

        try:
            fuzz()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, f"{operation.method.upper()} {operation.path}: no valid input"
            continue  # every input the document allows is valid here: there is nothing invalid to send
        except BaseException as error:  # noqa: BLE001 - every operation is tried; all failures are reported at once
            failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {str(error)[:700]}")
    return failures, statuses


@pytest.mark.parametrize("role", ["national", "regional"])
@pytest.mark.parametrize("who", ["staff", "seller"])
def test_no_operation_answers_5xx_or_off_schema(database, role, who):
    url, pg_schema = database
    app = migrated_app(url, schema=pg_schema, **NODES[role])
    try:
        headers = _seed(app, role)
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
        failures, statuses = _run(schema, headers[who])
    finally:
        app.extensions["db"].engine.dispose()
    print(f"{role} node, {who}'s token: responses by status {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 0
    assert not failures, "\n\n".join(failures)
