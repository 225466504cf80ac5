"""The one client for the Rasa server: the customer channel and the HTTP API agents use."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from common.channel_signing import signed_json
from common.chat_messages import (
    AGENT_JOINED,
    HANDBACK,
    HANDBACK_TEXT,
    SENDER_ID,
    ChatMessage,
    bot_message,
)

# Messages the console posts are also pushed at once to a widget connected over socket.io: Rasa
# runs the appended BotUttered events' side effects through that channel's output, which emits
# them to the socket.io room named by the conversation id (rasa/server.py, `append_events`).
_LIVE_DELIVERY = {"output_channel": "socketio", "execute_side_effects": "true"}


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (not running, still loading, or failing)."""


class RasaRequestError(RuntimeError):
    """Rasa refused a request (bad token, unknown conversation, bad input)."""


@dataclass(frozen=True)
class Transcript:
    messages: list[ChatMessage]
    paused: bool


def check_sender_id(sender_id: str) -> str:
    """Refuse sender ids that could smuggle a path or query into a URL (fullmatch: `$` would
    let a trailing newline through)."""
    if not isinstance(sender_id, str) or not SENDER_ID.fullmatch(sender_id):
        raise ValueError("a conversation id has 1-64 letters, digits, '-' or '_'")
    return sender_id


def messages_from_events(events: list[dict[str, Any]]) -> list[ChatMessage]:
    """The customer-visible messages among a tracker's events."""
    return [message for _, message in indexed_messages(events)]


def indexed_messages(events: list[dict[str, Any]]) -> list[tuple[int, ChatMessage]]:
    """The customer-visible messages, each with the index of the event it comes from (the
    console pairs a customer message with its parse data and the actions that followed)."""
    messages: list[ChatMessage] = []
    origins: list[int] = []
    # The text of a customer message Rasa just reverted: the two-stage fallback logs it again
    # right away once the customer clarified, but the customer only said it once.
    reverted: str | None = None
    for index, event in enumerate(events):
        kind = event.get("event")
        if kind == "rewind":
            # What the customer sent, not the button title shown for it: the replay repeats it.
            said = [
                events[i].get("text")
                for i, m in zip(origins, messages, strict=True)
                if m.sender == "customer"
            ]
            reverted = said[-1] if said else None
            continue
        if kind == "action":
            continue
        replayed, reverted = reverted, None
        if kind == "user" and event.get("text"):
            text = event["text"]
            if text == replayed:
                continue
            # A quick-reply click sends its payload ("/affirm"); show the title the customer saw.
            offered = {b["payload"]: b["title"] for b in messages[-1].buttons} if messages else {}
            messages.append(
                ChatMessage("customer", offered.get(text, text), event.get("timestamp"))
            )
            origins.append(index)
        elif kind == "bot":
            message = bot_message(
                event.get("text"),
                event.get("timestamp"),
                (event.get("data") or {}).get("buttons"),
                event.get("metadata") or {},
            )
            if message is not None:
                messages.append(message)
                origins.append(index)
    return list(zip(origins, messages, strict=True))


class RasaClient:
    """Async client. `api_token` is needed for everything but `send_message`, which signs its
    requests with `session_secret` (the REST channel answers nothing else)."""

    def __init__(
        self,
        base_url: str,
        api_token: str | None,
        *,
        session_secret: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = api_token
        self._session_secret = session_secret
        self._timeout = timeout
        self._transport = transport

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self._token:
            # Only in a header: a query string ends up in access logs and proxies' histories.
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa at {self._base_url} did not answer: {error}") from None
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        if response.status_code >= 400:
            raise RasaRequestError(f"Rasa refused {method} {path}: {response.status_code}")
        return response

    async def has_model(self) -> bool:
        """Whether Rasa answers with a loaded model (readiness)."""
        status = (await self._request("GET", "/status")).json()
        return isinstance(status, dict) and bool(status.get("model_file"))

    async def send_message(
        self,
        sender_id: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        client_address: str | None = None,
    ) -> list[dict[str, Any]]:
        """Say `text` as the customer (from the browser at `client_address`); returns the bot's
        replies."""
        if not self._session_secret:
            raise RasaRequestError("the REST channel needs requests signed with the session secret")
        message: dict[str, Any] = {
            "sender": check_sender_id(sender_id),
            "message": text,
            "metadata": metadata or {},
        }
        if client_address:
            message["client_address"] = client_address
        body, headers = signed_json(message, self._session_secret)
        response = await self._request(
            "POST", "/webhooks/rest/webhook", content=body, headers=headers
        )
        replies = response.json()
        return replies if isinstance(replies, list) else []

    async def transcript(self, sender_id: str) -> Transcript:
        response = await self._request(
            "GET", f"/conversations/{check_sender_id(sender_id)}/tracker"
        )
        tracker = response.json()
        return Transcript(
            messages=messages_from_events(tracker.get("events") or []),
            paused=bool(tracker.get("paused")),
        )

    async def tracker_events(self, sender_id: str) -> list[dict[str, Any]]:
        """The conversation's raw tracker events (since its last restart), oldest first."""
        response = await self._request(
            "GET", f"/conversations/{check_sender_id(sender_id)}/tracker"
        )
        return list(response.json().get("events") or [])

    async def _append(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Log events into the conversation; its bot messages also go out live (socket.io)."""
        await self._request(
            "POST",
            f"/conversations/{check_sender_id(sender_id)}/tracker/events",
            params=dict(_LIVE_DELIVERY),
            json=events,
        )

    async def post_agent_reply(
        self, sender_id: str, text: str, agent_name: str = "Support agent"
    ) -> None:
        """Add an agent's message to a (paused) conversation."""
        if not text.strip():
            raise ValueError("an agent reply needs some text")
        await self._append(
            sender_id,
            [
                {
                    "event": "bot",
                    "text": text.strip(),
                    "metadata": {"agent": True, "agent_name": agent_name},
                    "timestamp": time.time(),
                }
            ],
        )

    async def announce_agent(self, sender_id: str, agent_name: str) -> None:
        """Tell the customer a person has joined (a notice, while the bot stays paused)."""
        await self._append(
            sender_id,
            [
                {
                    "event": "bot",
                    "text": f"{agent_name} from our team has joined the conversation.",
                    "metadata": {"notice": AGENT_JOINED, "agent_name": agent_name},
                    "timestamp": time.time(),
                }
            ],
        )

    async def resume(self, sender_id: str) -> None:
        """Hand the conversation back to the bot and tell the customer."""
        await self._append(
            sender_id,
            [
                {"event": "resume", "timestamp": time.time()},
                {
                    "event": "bot",
                    "text": HANDBACK_TEXT,
                    "metadata": {"notice": HANDBACK},
                    "timestamp": time.time(),
                },
                # Messages logged while paused left a turn open; the bot starts afresh by
                # listening, or its policies would predict nothing for the next message.
                {"event": "action", "name": "action_listen", "timestamp": time.time()},
            ],
        )

    async def is_ready(self) -> bool:
        """True once the server answers with a model loaded."""
        try:
            response = await self._request("GET", "/status" if self._token else "/")
        except (RasaUnavailable, RasaRequestError):
            return False
        return bool(response.json().get("model_file")) if self._token else True
