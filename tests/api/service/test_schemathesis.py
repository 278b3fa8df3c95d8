"""Property test from the OpenAPI document: for every route and every role, generated requests
(valid and invalid) never reach a 5xx and every response matches the document.

Schemathesis generates the cases from ``/openapi.json``'s own source (the route table), sends
them to a real server on 127.0.0.1 and runs its response checks; bounded to a few examples per
route and role so the whole module stays within seconds.
"""
from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from tests.api.service.support import auth, build_world, live

from jukimatch.api.service import create_app, openapi
from jukimatch.api.service.app import all_routes

SCHEMA = schemathesis.openapi.from_dict(openapi.build(all_routes()))  # the service's and the review workbench's
ROLES = ("gateway", "staff", "operator", "auditor", "clerk", "supervisor")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    world = build_world(tmp_path_factory.mktemp("st") / "store.sqlite")
    for srv in live(create_app(world.store, jukinet=None, retry_interval_s=None)):
        yield srv, world


@pytest.fixture(scope="module")
def session():
    import requests

    with requests.Session() as s:
        yield s


@pytest.mark.parametrize("role", ROLES)
@SCHEMA.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_documented_responses(case, role, served, session):
    srv, world = served
    case.call_and_validate(base_url=srv.url, session=session, headers=auth(world.tokens[role]))


def test_the_document_is_served(served):
    srv, _ = served
    assert httpx.get(srv.url + "/openapi.json").json() == openapi.build(all_routes())
