"""The console's erasure route: any signed-in agent, with a reason, from the console's own
origin only, audited; 404 for an unknown customer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from supportbot.console.models import AuditEntry
from supportbot.settings import Settings
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, cheap_hashes, create_agent  # noqa: F401
from tests.supportbot.privacy.conftest import EMAIL, crm_text, seed_wanda, tracker_rows
from tests.supportbot.web.conftest import RASA_TOKEN, SESSION_SECRET, FakeRasa, client_for

OWN_ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def console(settings: Settings) -> TestClient:
    """Sam's console session (an agent, not an admin)."""
    create_agent(settings.database_url)
    web_settings = replace(settings, rasa_api_token=RASA_TOKEN, session_secret=SESSION_SECRET)
    client = client_for(FakeRasa(), web_settings)
    response = client.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return client


def test_an_agent_erases_a_customer_with_a_reason(console: TestClient, settings: Settings) -> None:
    customer_id = seed_wanda(settings)

    response = console.post(
        f"/api/console/customers/{customer_id}/erasure",
        json={"reason": "asked by phone, identity checked"},
        headers=OWN_ORIGIN,
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["customer_id"], report["conversations"]) == (customer_id, 2)
    assert report["deleted"]["tracker events"] == 2
    assert any("tax law" in reason for reason in report["kept"])
    assert EMAIL not in crm_text(settings.database_url)
    assert [row.sender_id for row in tracker_rows(settings)] == ["other-1"]
    with crm_session(settings.database_url) as crm:
        entry = crm.session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        assert entry is not None
        assert entry.actor.startswith("agent:") and entry.source.startswith("ip:")
        assert entry.details["reason"] == "asked by phone, identity checked"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"reason": "asked"}, {"Origin": "https://evil.example"}, 403),
        ({"reason": "   "}, OWN_ORIGIN, 422),
        ({}, OWN_ORIGIN, 422),
        ({"reason": "x" * 301}, OWN_ORIGIN, 422),
    ],
)
def test_an_erasure_needs_the_console_origin_and_a_reason(
    console: TestClient, settings: Settings, body: dict, headers: dict, status: int
) -> None:
    customer_id = seed_wanda(settings)
    response = console.post(
        f"/api/console/customers/{customer_id}/erasure", json=body, headers=headers
    )
    assert response.status_code == status, response.text
    assert EMAIL in crm_text(settings.database_url)
    assert not settings.privacy.erasure_log.exists()


def test_unknown_customers_and_strangers_are_refused(
    console: TestClient, settings: Settings
) -> None:
    response = console.post(
        "/api/console/customers/987654/erasure", json={"reason": "asked"}, headers=OWN_ORIGIN
    )
    assert response.status_code == 404
    console.cookies.clear()
    response = console.post(
        "/api/console/customers/1/erasure", json={"reason": "asked"}, headers=OWN_ORIGIN
    )
    assert response.status_code == 401
