"""The interim agent API: bearer-token only, and it drives the paused conversation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.supportbot.web.conftest import AGENT_TOKEN, FakeRasa, client_for, make_settings

SENDER = "0123456789abcdef0123456789abcdef"
ROUTES = [
    ("GET", f"/api/agent/conversations/{SENDER}"),
    ("POST", f"/api/agent/conversations/{SENDER}/messages"),
    ("POST", f"/api/agent/conversations/{SENDER}/resume"),
]
AUTH = {"Authorization": f"Bearer {AGENT_TOKEN}"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {AGENT_TOKEN}"])
def test_every_agent_route_refuses_without_the_token(
    web: TestClient, rasa: FakeRasa, method: str, path: str, header: str | None
):
    headers = {"Authorization": header} if header else {}
    response = web.request(method, path, headers=headers, json={"text": "hi"})
    assert response.status_code == 401
    assert rasa.events == {}


def test_agent_routes_are_off_without_a_configured_token(rasa: FakeRasa):
    web = client_for(rasa, make_settings(agent_api_token=None))
    response = web.post(f"/api/agent/conversations/{SENDER}/resume", headers=AUTH)
    assert response.status_code == 503
    assert "SUPPORTBOT_AGENT_TOKEN" in response.json()["error"]


def test_agent_reply_reaches_the_customer_and_resume_hands_back(rasa: FakeRasa, crm_url: str):
    # A real CRM: the resume also takes the conversation out of the console's takeover queue.
    web = client_for(rasa, make_settings(database_url=crm_url))
    first = web.post("/api/chat/messages", json={"text": "a human please"}).json()
    assert first["paused"]
    sender = next(iter(rasa.events))

    sent = web.post(
        f"/api/agent/conversations/{sender}/messages",
        headers=AUTH,
        json={"text": "Hi, Sam here.", "agent_name": "Sam"},
    )
    assert sent.status_code == 200
    polled = web.get("/api/chat/messages", params={"after": first["total"]}).json()
    assert [(m["sender"], m["text"]) for m in polled["messages"]] == [("agent", "Hi, Sam here.")]

    assert web.post(f"/api/agent/conversations/{sender}/resume", headers=AUTH).status_code == 200
    after = web.get("/api/chat/messages", params={"after": polled["total"]}).json()
    assert after["paused"] is False
    assert "back with the assistant" in after["messages"][0]["text"]


@pytest.mark.parametrize("sender", ["../../status", "a" * 65, "x y"])
def test_bad_conversation_ids_are_refused(web: TestClient, rasa: FakeRasa, sender: str):
    response = web.post(
        f"/api/agent/conversations/{sender}/messages", headers=AUTH, json={"text": "hi"}
    )
    assert response.status_code in (404, 422)
    assert rasa.events == {}


def test_empty_agent_reply_is_refused(web: TestClient, rasa: FakeRasa):
    response = web.post(
        f"/api/agent/conversations/{SENDER}/messages", headers=AUTH, json={"text": ""}
    )
    assert response.status_code == 422
    assert rasa.events == {}


def test_agent_transcript_shows_sentiment_decisions_and_profile(rasa: FakeRasa, crm_url: str):
    from supportbot.store import crm_session

    with crm_session(crm_url) as crm:
        ada = crm.customers.find_by_email("ada@example.com")
        assert ada is not None
        crm.interactions.bind_customer(SENDER, ada.id, method="token")
        crm.interactions.record_sentiment(SENDER, intent="complaint", label="negative", score=-0.9)
        crm.decisions.log(SENDER, "escalate", "Handed to a person: one very negative message.")
        crm.profiles.refresh(ada.id)
    web = client_for(rasa, make_settings(database_url=crm_url))

    body = web.get(f"/api/agent/conversations/{SENDER}", headers=AUTH).json()

    assert body["conversation"]["message_sentiments"][0]["label"] == "negative"
    assert [(d["kind"], d["reason"]) for d in body["decisions"]] == [
        ("escalate", "Handed to a person: one very negative message.")
    ]
    assert body["profile"]["tier"] == "platinum"


def test_agent_transcript_of_an_unknown_conversation(rasa: FakeRasa, crm_url: str):
    web = client_for(rasa, make_settings(database_url=crm_url))
    body = web.get(f"/api/agent/conversations/{SENDER}", headers=AUTH).json()
    assert body["conversation"] is None and body["decisions"] == [] and body["profile"] is None
