"""The live-takeover routes on a real CRM (SQLite, and PostgreSQL when configured) in front of a
fake Rasa: sessions and same-origin guard every route, one claim wins, only the claimer writes
and hands back, and failures answer clean JSON and change nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from supportbot.console import auth
from supportbot.console.models import HandoffRequest, HandoffState
from supportbot.store import crm_session
from tests.supportbot.console.conftest import AGENTS, PASSWORD, agent_id, hand_over, zoe_id
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

SENDER = "conv-1"
OWN_ORIGIN = {"Origin": "http://testserver"}
LIVE = {"output_channel": "socketio", "execute_side_effects": "true"}
ROUTES = [
    ("GET", "/api/console/queue"),
    ("POST", f"/api/console/queue/{SENDER}/claim"),
    ("GET", f"/api/console/conversations/{SENDER}/live"),
    ("POST", f"/api/console/conversations/{SENDER}/messages"),
    ("POST", f"/api/console/queue/{SENDER}/release"),
]
WRITES = [(method, path) for method, path in ROUTES if method == "POST"]


@pytest.fixture
def url(takeover_url: str) -> str:
    return takeover_url


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


def signed_in(url: str, rasa: FakeRasa, email: str) -> TestClient:
    client = client_for(rasa, make_settings(database_url=url))
    response = client.post("/api/console/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


@pytest.fixture
def sam(url: str, rasa: FakeRasa) -> TestClient:
    return signed_in(url, rasa, AGENTS["sam"][0])


@pytest.fixture
def alex(url: str, rasa: FakeRasa) -> TestClient:
    return signed_in(url, rasa, AGENTS["alex"][0])


def paused_handoff(url: str, rasa: FakeRasa, sender_id: str = SENDER, **kwargs: Any) -> None:
    """A conversation the bot handed over: queued in the CRM, paused in Rasa."""
    hand_over(url, sender_id, **kwargs)
    rasa.events[sender_id] = [
        {"event": "user", "text": "I want a human", "timestamp": 1.0},
        {"event": "bot", "text": "I'm connecting you with a person.", "timestamp": 2.0},
    ]
    rasa.paused[sender_id] = True


def stored(url: str, sender_id: str = SENDER) -> HandoffRequest:
    with crm_session(url) as crm:
        row = crm.session.get(HandoffRequest, sender_id)
        assert row is not None
        return row


def posted(rasa: FakeRasa, sender_id: str = SENDER) -> list[dict[str, Any]]:
    """The events the console appended to the conversation (after the handoff's two)."""
    return rasa.events.get(sender_id, [])[2:]


def claim(client: TestClient, sender_id: str = SENDER) -> Any:
    return client.post(f"/api/console/queue/{sender_id}/claim", headers=OWN_ORIGIN)


def say(client: TestClient, text: str, sender_id: str = SENDER, **extra: Any) -> Any:
    return client.post(
        f"/api/console/conversations/{sender_id}/messages",
        json={"text": text, **extra},
        headers=OWN_ORIGIN,
    )


def release(client: TestClient, sender_id: str = SENDER) -> Any:
    return client.post(f"/api/console/queue/{sender_id}/release", headers=OWN_ORIGIN)


# --- guards --------------------------------------------------------------------------------


def test_every_route_is_listed():
    from supportbot.web.takeover_api import router

    routes = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert routes == {(m, p.replace(SENDER, "{sender_id}")) for m, p in ROUTES}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("cookie", [None, "not-a-session-token"])
def test_every_route_refuses_without_a_session(
    url: str, rasa: FakeRasa, method: str, path: str, cookie: str | None
):
    paused_handoff(url, rasa)
    anonymous = client_for(rasa, make_settings(database_url=url))
    if cookie:
        anonymous.cookies.set("sb_agent", cookie)
    response = anonymous.request(method, path, json={"text": "hi"}, headers=OWN_ORIGIN)
    assert response.status_code == 401
    assert response.json() == {"error": "sign in to the agent console"}
    assert stored(url).state is HandoffState.WAITING and posted(rasa) == []


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(
    "headers", [{"Origin": "http://evil.test"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_every_write_refuses_a_cross_site_request(
    url: str, rasa: FakeRasa, sam: TestClient, method: str, path: str, headers: dict[str, str]
):
    paused_handoff(url, rasa)
    if not path.endswith("/claim"):
        assert claim(sam).status_code == 200
    before = (stored(url).state, list(rasa.events[SENDER]))

    response = sam.request(method, path, json={"text": "hi"}, headers=headers)

    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert (stored(url).state, rasa.events[SENDER]) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/console/queue/x%20y/claim"),
        ("GET", f"/api/console/conversations/{'a' * 65}/live"),
        ("POST", "/api/console/conversations/a.b/messages"),
        ("POST", "/api/console/queue/a.b/release"),
    ],
)
def test_bad_conversation_ids_are_refused(sam: TestClient, rasa: FakeRasa, method: str, path: str):
    response = sam.request(method, path, json={"text": "hi"}, headers=OWN_ORIGIN)
    assert response.status_code == 422
    assert response.json()["error"].startswith("Invalid request: sender_id:")
    assert rasa.events == {}


# --- the queue and claims ------------------------------------------------------------------


def test_the_queue_shows_waiting_then_claimed_conversations(
    url: str, rasa: FakeRasa, sam: TestClient
):
    zoe = zoe_id(url)
    paused_handoff(url, rasa, "first", customer_id=zoe)
    paused_handoff(url, rasa, "second", reason="Escalated by the assistant: upset.")
    assert claim(sam, "first").status_code == 200

    items = sam.get("/api/console/queue").json()["items"]

    assert [(i["sender_id"], i["state"]) for i in items] == [
        ("second", "waiting"),
        ("first", "claimed"),
    ]
    second, first = items
    assert second == {
        "sender_id": "second",
        "customer": None,
        "reason": "Escalated by the assistant: upset.",
        "priority": "high",
        "requested_at": second["requested_at"],
        "state": "waiting",
        "agent": None,
        "claimed_at": None,
    }
    assert first["customer"] == {"id": zoe, "name": "Zoë Quinn"}
    assert first["agent"] == {"id": agent_id(url, "sam"), "name": "Sam Lee"}
    assert first["claimed_at"] is not None


def test_a_claim_announces_the_agent_to_the_customer(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)

    response = claim(sam)

    assert response.status_code == 200
    assert response.json() == {
        "sender_id": SENDER,
        "state": "claimed",
        "agent": {"id": agent_id(url, "sam"), "name": "Sam Lee"},
    }
    (notice,) = posted(rasa)
    assert notice["event"] == "bot"
    assert notice["text"] == "Sam from our team has joined the conversation."
    assert notice["metadata"] == {"notice": "agent_joined", "agent_name": "Sam"}
    assert rasa.append_params == [LIVE]  # pushed to a socket.io widget at once
    row = stored(url)
    assert row.state is HandoffState.CLAIMED and row.agent_id == agent_id(url, "sam")
    live = sam.get(f"/api/console/conversations/{SENDER}/live", params={"after": 2}).json()
    assert live["messages"] == [
        {
            "sender": "bot",
            "text": "Sam from our team has joined the conversation.",
            "timestamp": notice["timestamp"],
            "buttons": [],
            "notice": "agent_joined",
            "agent_name": None,
        }
    ]
    assert live["total"] == 3 and live["paused"] is True


def test_a_second_claim_is_refused_with_the_holders_name(
    url: str, rasa: FakeRasa, sam: TestClient, alex: TestClient
):
    paused_handoff(url, rasa)
    assert claim(sam).status_code == 200

    response = claim(alex)

    assert response.status_code == 409
    assert response.json() == {"error": "already claimed by Sam Lee"}
    # Sam clicking again keeps the claim and does not announce them twice.
    assert claim(sam).status_code == 200
    assert len(posted(rasa)) == 1 and stored(url).agent_id == agent_id(url, "sam")


def test_only_waiting_conversations_can_be_claimed(url: str, rasa: FakeRasa, sam: TestClient):
    response = claim(sam, "never-handed-over")
    assert response.status_code == 404
    assert response.json() == {"error": "this conversation is not waiting for a person"}
    assert rasa.events == {}


# Six requests at once: each needs a connection of its own that sees the others' commits.
@pytest.mark.committed
def test_racing_claims_have_one_winner_and_one_announcement(url: str, rasa: FakeRasa):
    """Six agents press "claim" at the same moment, each in their own browser session."""
    with crm_session(url) as crm:
        agents = auth.Agents(crm.session)
        for n in range(6):
            if agents.find_by_email(f"racer{n}@support.test") is None:
                agents.create(f"racer{n}@support.test", f"Racer{n} Smith", PASSWORD)
    clients = [signed_in(url, rasa, f"racer{n}@support.test") for n in range(6)]
    paused_handoff(url, rasa)
    start = threading.Barrier(len(clients))
    answers: list[Any] = []

    def press(client: TestClient) -> None:
        start.wait()
        answers.append(claim(client))

    threads = [threading.Thread(target=press, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200, 409, 409, 409, 409, 409]
    (won,) = [a.json() for a in answers if a.status_code == 200]
    winner = won["agent"]["name"]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {
        f"already claimed by {winner}"
    }
    (notice,) = posted(rasa)
    assert notice["metadata"]["agent_name"] == winner.split()[0]
    assert stored(url).agent_id == won["agent"]["id"]


def test_a_claim_is_undone_when_the_customer_cannot_be_told(
    url: str, rasa: FakeRasa, sam: TestClient, alex: TestClient
):
    paused_handoff(url, rasa)
    rasa.down = True

    response = claim(sam)

    assert response.status_code == 503
    assert "not available" in response.json()["error"]
    row = stored(url)
    assert row.state is HandoffState.WAITING and row.agent_id is None
    rasa.down = False
    assert claim(alex).status_code == 200  # still anyone's to take


# --- the live view and the agent's messages ------------------------------------------------


def test_the_live_view_pages_by_message_count(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)
    view = f"/api/console/conversations/{SENDER}/live"

    everything = sam.get(view).json()
    assert [m["sender"] for m in everything["messages"]] == ["customer", "bot"]
    assert everything["total"] == 2 and everything["paused"] is True
    assert sam.get(view, params={"after": 2}).json()["messages"] == []
    refused = sam.get(view, params={"after": -1})
    assert refused.status_code == 422 and refused.json()["error"].startswith("Invalid request")


def test_the_claimer_writes_to_the_customer_under_their_own_name(
    url: str, rasa: FakeRasa, sam: TestClient
):
    paused_handoff(url, rasa)
    claim(sam)

    response = say(sam, "  Hi, I can help with that.  ")

    assert response.status_code == 200 and response.json() == {"status": "sent"}
    message = posted(rasa)[-1]
    assert message["text"] == "Hi, I can help with that."
    assert message["metadata"] == {"agent": True, "agent_name": "Sam"}
    assert rasa.append_params[-1] == LIVE
    transcript = sam.get(f"/api/console/conversations/{SENDER}/live").json()["messages"]
    assert transcript[-1]["sender"] == "agent" and transcript[-1]["agent_name"] == "Sam"


def test_the_name_never_comes_from_the_request(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)
    claim(sam)

    response = say(sam, "Hello", agent_name="The CEO")

    assert response.status_code == 422
    assert "agent_name" in response.json()["error"]
    assert len(posted(rasa)) == 1  # just the joined notice


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001])
def test_empty_or_huge_messages_are_refused(url: str, rasa: FakeRasa, sam: TestClient, text: str):
    paused_handoff(url, rasa)
    claim(sam)
    response = say(sam, text)
    assert response.status_code == 422 and response.json()["error"].startswith("Invalid request")
    assert len(posted(rasa)) == 1


def test_only_the_claimer_may_write(url: str, rasa: FakeRasa, sam: TestClient, alex: TestClient):
    paused_handoff(url, rasa)

    unclaimed = say(sam, "Hello?")
    assert unclaimed.status_code == 409
    assert unclaimed.json() == {"error": "nobody has claimed this conversation"}
    unknown = say(sam, "Hello?", "never-handed-over")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "this conversation has not been handed to a person"}

    claim(sam)
    other = say(alex, "I'll take it from here")

    assert other.status_code == 403
    assert other.json() == {"error": "another agent has this conversation"}
    assert [e["text"] for e in posted(rasa)] == ["Sam from our team has joined the conversation."]


# --- handing back --------------------------------------------------------------------------


def test_only_the_claimer_hands_back(url: str, rasa: FakeRasa, sam: TestClient, alex: TestClient):
    paused_handoff(url, rasa)
    assert release(sam).status_code == 409  # nobody has it yet
    claim(sam)

    refused = release(alex)

    assert refused.status_code == 403
    assert refused.json() == {"error": "another agent has this conversation"}
    assert rasa.paused[SENDER] is True and stored(url).state is HandoffState.CLAIMED


def test_release_resumes_the_bot_and_leaves_the_queue(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)
    claim(sam)
    say(sam, "All sorted, anything else?")

    response = release(sam)

    assert response.status_code == 200 and response.json() == {"status": "returned"}
    assert rasa.paused[SENDER] is False
    resume, handback, listen = posted(rasa)[-3:]
    assert resume["event"] == "resume" and listen == {**listen, "name": "action_listen"}
    assert handback["metadata"] == {"notice": "handback"}
    assert rasa.append_params[-1] == LIVE
    row = stored(url)
    assert row.state is HandoffState.RETURNED and row.returned_at is not None
    assert sam.get("/api/console/queue").json() == {"items": []}
    live = sam.get(f"/api/console/conversations/{SENDER}/live").json()
    assert live["paused"] is False
    assert live["messages"][-1]["notice"] == "handback"
    # It is the bot's again: no more agent messages, no second release.
    assert say(sam, "one more thing").status_code == 409
    assert release(sam).status_code == 409


def test_a_failed_resume_keeps_the_claim(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)
    claim(sam)
    rasa.down = True

    response = release(sam)

    assert response.status_code == 503 and "error" in response.json()
    assert stored(url).state is HandoffState.CLAIMED
    rasa.down = False
    assert release(sam).status_code == 200  # the agent simply tries again


def test_a_new_handoff_after_release_queues_it_again(url: str, rasa: FakeRasa, sam: TestClient):
    paused_handoff(url, rasa)
    claim(sam)
    release(sam)

    paused_handoff(url, rasa)

    items = sam.get("/api/console/queue").json()["items"]
    assert [(i["sender_id"], i["state"], i["agent"]) for i in items] == [(SENDER, "waiting", None)]
    assert claim(sam).status_code == 200


# --- the JSON is what the services build ---------------------------------------------------


def test_the_queue_is_what_the_service_builds(url: str, rasa: FakeRasa, sam: TestClient):
    """The response model drops, adds and changes nothing of the queue's items."""
    paused_handoff(url, rasa, "first", customer_id=zoe_id(url))
    paused_handoff(url, rasa, "second")
    assert claim(sam, "first").status_code == 200

    items = sam.get("/api/console/queue").json()

    with crm_session(url) as crm:
        assert items == {"items": crm.handoffs.items()}
    assert items["items"][1]["claimed_at"].endswith("+00:00")
