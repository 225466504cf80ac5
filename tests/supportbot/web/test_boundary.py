"""The web boundary as a whole: every route that names a conversation checks its id by one rule,
a store outage answers one 503 that carries nothing of the request, and no response model can
silently drop a key. A real SQLite CRM whose tables are dropped stands in for the outage."""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from supportbot.crm import get_engine
from supportbot.crm.models import Base
from supportbot.crm.seed import seed_demo_data
from supportbot.settings import get_settings
from supportbot.store import crm_session, migrate
from supportbot.web import admin_api, chat_api, console_api, pages, responses, takeover_api
from tests.conftest import IDENTITY_SECRET
from tests.supportbot.console.conftest import PASSWORD, add_conversation, create_agent
from tests.supportbot.web.conftest import ON_LOOPBACK, FakeRasa, client_for, make_settings

BAD_SENDER = "Invalid request: sender_id: a conversation id has 1-64 letters, digits, '-' or '_'"
STORE_DOWN = {"error": "the CRM store is unavailable"}
OWN_ORIGIN = {"Origin": ON_LOOPBACK["base_url"]}
# A valid body for each route that takes one, so only the sender id is wrong.
BODIES = {
    "/messages": {"text": "hi"},
    "/review": {},
    "/training-examples": {"text": "hi", "intent": "greet"},
}
KNOWN = "conv-known"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite CRM of this test's own: these tests break the store itself (tables dropped, a
    commit refused), which the shared rolled-back database (tests/db.py) must never see."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate(url)
    with crm_session(url) as crm:
        seed_demo_data(crm.session, customers=0)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    monkeypatch.setenv("SUPPORTBOT_IDENTITY_SECRET", IDENTITY_SECRET)
    get_settings.cache_clear()
    create_agent(url)
    return url


@pytest.fixture
def signed_in(url: str, rasa: FakeRasa) -> TestClient:
    """A console session and our own Origin, on one client (on loopback, where the demo pages
    answer)."""
    client = client_for(rasa, make_settings(database_url=url, demo_pages=True), **ON_LOOPBACK)
    response = client.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.headers.update(OWN_ORIGIN)
    return client


def routes_with_a_sender_id() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for module in (admin_api, chat_api, console_api, pages, takeover_api)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "{sender_id}" in route.path
        for method in route.methods or ()
    )


def request_to(client: TestClient, method: str, path: str, sender_id: str) -> Any:
    body = next((b for end, b in BODIES.items() if path.endswith(end)), None)
    concrete = path.replace("{sender_id}", sender_id).replace("{tag}", "vip")
    return client.request(method, concrete, json=body)


def test_the_sender_id_routes_are_all_found():
    prefixes = {path.split("/")[2] for _, path in routes_with_a_sender_id()}
    assert prefixes == {"console"} and len(routes_with_a_sender_id()) >= 11


@pytest.mark.parametrize("sender_id", ["a.b", "x" * 65, "new%0A", "two%20words", "%C3%A9"])
def test_a_malformed_sender_id_gets_the_same_422_on_every_route(
    signed_in: TestClient, rasa: FakeRasa, sender_id: str
):
    for method, path in routes_with_a_sender_id():
        response = request_to(signed_in, method, path, sender_id)
        assert (response.status_code, response.json()) == (422, {"error": BAD_SENDER}), (
            method,
            path,
        )
    assert rasa.events == {}


def test_a_stored_conversation_whose_id_ends_in_a_newline_gets_422_not_500(
    signed_in: TestClient, rasa: FakeRasa, url: str
):
    """The issue's 500: such a conversation reaches the CRM through Rasa's REST channel; with
    `^...$` and match() its id passed the check, and Rasa's URL then broke (httpx.InvalidURL).
    """
    add_conversation(url, "new\n", started_at=datetime.now(UTC), handoff=True)
    for method, path in routes_with_a_sender_id():
        response = request_to(signed_in, method, path, "new%0A")
        assert (response.status_code, response.json()) == (422, {"error": BAD_SENDER}), (
            method,
            path,
        )
    assert rasa.events == {}


def test_the_guards_answer_before_the_sender_id(rasa: FakeRasa, url: str):
    anonymous = client_for(rasa, make_settings(database_url=url))
    for method, path in routes_with_a_sender_id():
        assert request_to(anonymous, method, path, "a.b").status_code == 401, (method, path)


def drop_tables(url: str, *, keep: tuple[str, ...] = ()) -> None:
    """A store gone wrong: the CRM's tables dropped (children first), all but `keep`."""
    with get_engine(url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in keep:
                table.drop(connection)


def assert_store_down(response: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert (response.status_code, response.json()) == (503, STORE_DOWN)
    # Our one log line has the exception's type only: no statement, no parameters, no
    # traceback, nothing of the request (the test client's own request log aside).
    logged = [r for r in caplog.records if r.name.startswith("supportbot")]
    assert [r.getMessage() for r in logged] == ["the CRM store failed: OperationalError"]
    assert logged[0].exc_info is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/console/conversations"),
        ("GET", f"/api/console/conversations/{KNOWN}"),
        ("GET", f"/api/console/conversations/{KNOWN}/export"),
        ("PUT", f"/api/console/conversations/{KNOWN}/review"),
        ("POST", f"/api/console/conversations/{KNOWN}/tags/vip"),
        ("GET", "/api/console/analytics"),
        ("GET", "/api/console/insights"),
        ("GET", "/api/console/privacy"),
        ("GET", "/api/console/queue"),
        ("POST", f"/api/console/queue/{KNOWN}/claim"),
        ("POST", f"/api/console/conversations/{KNOWN}/messages"),
        ("GET", "/demo/ada"),
    ],
)
def test_a_store_failure_during_a_request_is_a_503_that_says_nothing_of_it(
    signed_in: TestClient, url: str, caplog: pytest.LogCaptureFixture, method: str, path: str
):
    # The agents and their sessions stay: the request gets past its guard to its own work.
    drop_tables(url, keep=("agents", "agent_sessions"))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = request_to(signed_in, method, path, KNOWN)
    assert_store_down(response, caplog)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/console/login", {"email": "sam@support.test", "password": PASSWORD}),
        ("GET", "/api/console/me", None),
    ],
)
def test_a_store_failure_while_signing_in_is_the_same_503(
    signed_in: TestClient,
    url: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: dict[str, str] | None,
):
    drop_tables(url)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = signed_in.request(method, path, json=body)
    assert_store_down(response, caplog)
    assert "sb_agent" not in response.headers.get("set-cookie", "")


def test_a_commit_that_fails_is_a_503_and_stores_nothing(
    signed_in: TestClient, url: str, caplog: pytest.LogCaptureFixture
):
    """The transaction is committed before the response is sent: a route that did its work but
    whose commit the database refuses answers 503, not the success it had built."""
    add_conversation(url, KNOWN, started_at=datetime.now(UTC))
    with get_engine(url).begin() as connection:
        # SQLite checks a deferred foreign key at COMMIT: every new tag makes the commit fail.
        connection.exec_driver_sql(
            "CREATE TABLE tag_audit (interaction_id INTEGER"
            " REFERENCES interactions(id) DEFERRABLE INITIALLY DEFERRED)"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER tag_audit_on_insert AFTER INSERT ON conversation_tags"
            " BEGIN INSERT INTO tag_audit VALUES (-1); END"
        )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = signed_in.post(f"/api/console/conversations/{KNOWN}/tags/vip")
    assert (response.status_code, response.json()) == (503, STORE_DOWN)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("supportbot")]
    assert logged == ["the CRM store failed: IntegrityError"]
    assert signed_in.get(f"/api/console/conversations/{KNOWN}/review").json()["tags"] == []


def response_models() -> list[type[BaseModel]]:
    return [
        model
        for _, model in inspect.getmembers(responses, inspect.isclass)
        if issubclass(model, BaseModel) and model.__module__ == responses.__name__
    ]


@pytest.mark.parametrize("model", response_models(), ids=lambda model: model.__name__)
def test_a_key_no_response_model_names_is_an_error_not_a_silent_drop(model: type[BaseModel]):
    assert model.model_config.get("extra") == "forbid"
