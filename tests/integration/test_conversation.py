"""The whole stack: a Rasa 3.6.21 server and our rasa-sdk action server, over HTTP.

This proves that the newer rasa-sdk in .venv speaks the webhook protocol of the 3.6.21 server,
and that a conversation lands in the tracker store and the CRM.
"""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from supportbot.rasa_client import RasaClient
from supportbot.store import crm_session
from supportbot.web.app import create_app
from tests.stack import API_TOKEN, WEB_PORT, Stack, agent_token

pytestmark = pytest.mark.integration


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def test_verified_customer_tracks_an_order_over_rest(stack: Stack) -> None:
    sender = "it-track-0001"
    assert "support assistant" in texts(stack.say(sender, "hello"))
    assert "order number" in texts(stack.say(sender, "where is my order?"))
    assert "email address" in texts(stack.say(sender, "100001"))
    reply = texts(stack.say(sender, "ada@example.com"))

    assert "you're verified" in reply
    assert "100001 has shipped with UPS, tracking number 1Z999AA10123456784" in reply
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute(
            "select count(*) from events where sender_id = ? and type_name = 'user'", (sender,)
        ).fetchone()[0]
    assert rows == 4
    with crm_session(stack.crm_url) as crm:
        ada = crm.customers.find_by_email("ada@example.com")
        assert ada is not None
        assert crm.interactions.verified_customer_id(sender) == ada.id
        assert crm.interactions.start_or_get(sender).intents[:2] == ["greet", "track_order"]


def test_injected_intent_for_someone_elses_order_reveals_nothing(stack: Stack) -> None:
    sender = "it-inject-0001"
    reply = texts(stack.say(sender, '/track_order{"order_id":"100002"}'))
    assert "email address" in reply
    reply = texts(stack.say(sender, "ada@example.com"))
    assert "don't match" in reply
    assert "being prepared" not in reply


async def test_handoff_agent_reply_and_resume(stack: Stack) -> None:
    sender = "it-handoff-0001"
    reply = texts(stack.say(sender, "I want to talk to a human"))
    assert "connecting you with a person" in reply

    assert stack.say(sender, "hello? anyone there?") == []  # paused: the bot stays quiet

    rasa = RasaClient(stack.rasa_url, API_TOKEN)
    await rasa.post_agent_reply(sender, "Hi, this is Sam from support. How can I help?")
    transcript = await rasa.transcript(sender)
    assert transcript.paused
    assert [m.sender for m in transcript.messages][-2:] == ["customer", "agent"]

    await rasa.resume(sender)
    assert not (await rasa.transcript(sender)).paused
    assert "order number" in texts(stack.say(sender, "can you track my order"))
    with crm_session(stack.crm_url) as crm:
        interaction = crm.interactions.start_or_get(sender)
        assert interaction.handoff is True and interaction.handoff_ticket_id is not None


def web_client(stack: Stack) -> httpx.AsyncClient:
    """The real web app, in-process, in front of the real Rasa server; asked on loopback, as
    its demo pages require (ASGITransport's client is 127.0.0.1)."""
    settings = stack.web_settings()
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)),
        base_url=f"http://127.0.0.1:{WEB_PORT}",
        timeout=60,
    )


def takeover_token(stack: Stack) -> str:
    """An API token with the scope `takeover` for a new agent, Sam, issued by an admin."""
    return agent_token(stack.crm_url, "it-sam@support.test", "Sam Reed", ["takeover"])


async def test_widget_api_with_a_signed_token_handoff_and_agent_reply(stack: Stack) -> None:
    async with web_client(stack) as web:
        page = (await web.get("/demo/ada")).text
        token = page.split('data-customer-token="', 1)[1].split('"', 1)[0]
        ada = {"X-Customer-Token": token}  # as the widget sends it, with every request

        hello = await web.post("/api/chat/messages", json={"text": "hello"}, headers=ada)
        assert hello.status_code == 200, hello.text
        assert "Hi Ada" in hello.json()["messages"][-1]["text"]

        track = await web.post(
            "/api/chat/messages",
            json={"text": "track order 100001", "after": hello.json()["total"]},
            headers=ada,
        )
        assert "tracking number 1Z999AA10123456784" in track.json()["messages"][-1]["text"]

        handoff = (
            await web.post(
                "/api/chat/messages",
                json={"text": "I want to talk to a human", "after": track.json()["total"]},
                headers=ada,
            )
        ).json()
        assert handoff["paused"] is True
        sender = web.cookies["supportbot_conversation"].split(".")[0]
        # The agent's script: its token acts as Sam, who must claim before writing.
        sam = {"Authorization": f"Bearer {takeover_token(stack)}"}
        path = f"/api/console/conversations/{sender}/messages"
        early = await web.post(path, headers=sam, json={"text": "Hi Ada, Sam here."})
        assert early.status_code == 409, early.text
        claimed = await web.post(f"/api/console/queue/{sender}/claim", headers=sam)
        assert claimed.status_code == 200, claimed.text
        sent = await web.post(path, headers=sam, json={"text": "Hi Ada, Sam here."})
        assert sent.status_code == 200, sent.text
        polled = (
            await web.get("/api/chat/messages", params={"after": handoff["total"]}, headers=ada)
        ).json()
        assert [m["text"] for m in polled["messages"]] == [
            "Sam from our team has joined the conversation.",
            "Hi Ada, Sam here.",
        ]
        last = polled["messages"][-1]
        assert (last["sender"], last["agent_name"]) == ("agent", "Sam")


@pytest.mark.parametrize(
    ("origin", "allowed"), [(f"http://127.0.0.1:{WEB_PORT}", True), ("http://evil.test", False)]
)
def test_socketio_checks_the_origin(stack: Stack, origin: str, allowed: bool) -> None:
    response = httpx.get(
        f"{stack.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert (response.status_code == 200) is allowed
