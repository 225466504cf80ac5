"""Live takeover on the whole stack: a real handoff lands in the queue, an agent claims it through
the console API, writes to the customer and hands back, and the bot answers again. A socket.io
client in the conversation's room receives the agent's messages and notices as they are posted."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from common import conversation_ids
from supportbot.console.auth import Agents
from supportbot.console.models import HandoffRequest, HandoffState
from supportbot.store import crm_session
from supportbot.web.app import create_app
from tests.stack import SESSION_SECRET, WEB_PORT, Stack

pytestmark = pytest.mark.integration

AGENT_EMAIL = "takeover-it@support.test"  # (the browser tests own sam@ and alex@)
AGENT_PASSWORD = "takeover-integration-password"
OWN_ORIGIN = {"Origin": "http://testserver"}


class PollingSocket:
    """A minimal socket.io client over engine.io long-polling (protocol 4), as a widget that
    cannot open a websocket would connect: it joins the room of one signed conversation."""

    def __init__(self, rasa_url: str) -> None:
        self._http = httpx.Client(
            base_url=f"{rasa_url}/socket.io/",
            headers={"Origin": f"http://127.0.0.1:{WEB_PORT}"},
            timeout=40,
        )
        self._sid = ""
        self._pending: list[Any] = []

    def _params(self) -> dict[str, str]:
        return {"EIO": "4", "transport": "polling", **({"sid": self._sid} if self._sid else {})}

    def _send(self, packet: str) -> None:
        self._http.post("", params=self._params(), content=packet).raise_for_status()

    def _poll(self) -> None:
        response = self._http.get("", params=self._params())
        response.raise_for_status()
        for packet in response.text.split("\x1e"):
            if packet == "2":  # engine.io ping
                self._send("3")
            elif packet.startswith("42"):
                self._pending.append(json.loads(packet[2:]))
            elif packet.startswith("0") and not self._sid:
                self._sid = json.loads(packet[1:])["sid"]

    def join(self, conversation_id: str) -> None:
        self._poll()  # the engine.io handshake
        self._send("40")  # connect to the default namespace
        self._send("42" + json.dumps(["session_request", {"session_id": conversation_id}]))
        assert self.next_event("session_confirm")

    def next_event(self, name: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, (event, *args) in enumerate(self._pending):
                if event == name:
                    del self._pending[index]
                    return args[0] if args else True
            self._poll()
        raise AssertionError(f"no {name} event within {timeout} s")

    def close(self) -> None:
        self._http.close()


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def tracker_bot_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    return [e for e in stack.tracker(sender)["events"] if e.get("event") == "bot"]


async def test_an_agent_takes_over_writes_and_hands_back(stack: Stack) -> None:
    with crm_session(stack.crm_url) as crm:
        agents = Agents(crm.session)
        if agents.find_by_email(AGENT_EMAIL) is None:
            agents.create(AGENT_EMAIL, "Sam Integration", AGENT_PASSWORD)
    sender = conversation_ids.new_conversation_id()
    socket = PollingSocket(stack.rasa_url)
    app = create_app(stack.web_settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
    ) as console:
        try:
            socket.join(conversation_ids.sign(sender, SESSION_SECRET))
            login = await console.post(
                "/api/console/login", json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}
            )
            assert login.status_code == 200, login.text

            # The customer asks for a person: the bot pauses and the conversation is queued.
            assert "connecting you with a person" in texts(stack.say(sender, "talk to a human"))
            queue = (await console.get("/api/console/queue")).json()["items"]
            (item,) = [i for i in queue if i["sender_id"] == sender]
            assert item["state"] == "waiting" and item["agent"] is None
            assert item["reason"] == "The customer asked for a person."

            claimed = await console.post(f"/api/console/queue/{sender}/claim", headers=OWN_ORIGIN)
            assert claimed.status_code == 200, claimed.text
            joined = socket.next_event("bot_uttered")
            assert joined["text"] == "Sam from our team has joined the conversation."
            assert joined["notice"] == "agent_joined"

            sent = await console.post(
                f"/api/console/conversations/{sender}/messages",
                json={"text": "Hi, I'm Sam. What can I do for you?"},
                headers=OWN_ORIGIN,
            )
            assert sent.status_code == 200, sent.text
            reply = socket.next_event("bot_uttered")
            assert reply["text"] == "Hi, I'm Sam. What can I do for you?"
            assert reply["sender"] == "agent" and reply["agent_name"] == "Sam"

            assert stack.say(sender, "my parcel is lost") == []  # the bot stays quiet
            live = (await console.get(f"/api/console/conversations/{sender}/live")).json()
            assert live["paused"] is True
            assert [(m["sender"], m["notice"]) for m in live["messages"]][-3:] == [
                ("bot", "agent_joined"),
                ("agent", None),
                ("customer", None),
            ]

            released = await console.post(
                f"/api/console/queue/{sender}/release", headers=OWN_ORIGIN
            )
            assert released.status_code == 200 and released.json() == {"status": "returned"}
            handback = socket.next_event("bot_uttered")
            assert (
                handback["notice"] == "handback" and "back with the assistant" in handback["text"]
            )
        finally:
            socket.close()

        # What Rasa recorded: the agent's message with its metadata, and both notices.
        bot_events = tracker_bot_events(stack, sender)
        agent_messages = [e for e in bot_events if e["metadata"].get("agent")]
        assert [(e["text"], e["metadata"]["agent_name"]) for e in agent_messages] == [
            ("Hi, I'm Sam. What can I do for you?", "Sam")
        ]
        notices = [e["metadata"].get("notice") for e in bot_events]
        assert [n for n in notices if n] == ["agent_joined", "handback"]
        live = (await console.get(f"/api/console/conversations/{sender}/live")).json()
        assert live["paused"] is False
        queue = (await console.get("/api/console/queue")).json()["items"]
        assert sender not in [i["sender_id"] for i in queue]

    with crm_session(stack.crm_url) as crm:
        row = crm.session.get(HandoffRequest, sender)
        assert row is not None and row.state is HandoffState.RETURNED
    # The bot has the conversation again.
    assert "order number" in texts(stack.say(sender, "can you track my order"))
