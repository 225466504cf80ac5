"""The one client for the Rasa server: the customer channel and the HTTP API agents use."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

_SENDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HANDBACK_TEXT = "You're back with the assistant. How else can I help?"


class RasaUnavailable(RuntimeError):
    """Rasa did not answer (not running, still loading, or failing)."""


class RasaRequestError(RuntimeError):
    """Rasa refused a request (bad token, unknown conversation, bad input)."""


@dataclass(frozen=True)
class ChatMessage:
    """One message of a transcript, as a customer or agent sees it."""

    sender: str  # "customer", "bot" or "agent"
    text: str
    timestamp: float | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Transcript:
    messages: list[ChatMessage]
    paused: bool


def check_sender_id(sender_id: str) -> str:
    """Refuse sender ids that could smuggle a path or query into a URL."""
    if not isinstance(sender_id, str) or not _SENDER_ID.match(sender_id):
        raise ValueError("a conversation id has 1-64 letters, digits, '-' or '_'")
    return sender_id


def messages_from_events(events: list[dict[str, Any]]) -> list[ChatMessage]:
    """The customer-visible messages among a tracker's events."""
    messages: list[ChatMessage] = []
    # The text of a customer message Rasa just reverted: the two-stage fallback logs it again
    # right away once the customer clarified, but the customer only said it once.
    reverted: str | None = None
    for event in events:
        kind = event.get("event")
        if kind == "rewind":
            said = [m.text for m in messages if m.sender == "customer"]
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
        elif kind == "bot" and (event.get("text") or (event.get("data") or {}).get("buttons")):
            metadata = event.get("metadata") or {}
            data = event.get("data") or {}
            messages.append(
                ChatMessage(
                    "agent" if metadata.get("agent") else "bot",
                    event.get("text") or "",
                    event.get("timestamp"),
                    [
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in data.get("buttons") or []
                    ],
                )
            )
    return messages


class RasaClient:
    """Async client. `api_token` is needed for everything but `send_message`."""

    def __init__(
        self,
        base_url: str,
        api_token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = api_token
        self._timeout = timeout
        self._transport = transport

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        params = kwargs.pop("params", {})
        if self._token:
            params["token"] = self._token
        try:
            async with httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.request(method, path, params=params, **kwargs)
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa at {self._base_url} did not answer: {error}") from None
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        if response.status_code >= 400:
            raise RasaRequestError(f"Rasa refused {method} {path}: {response.status_code}")
        return response

    async def send_message(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Say `text` as the customer; returns the bot's replies."""
        response = await self._request(
            "POST",
            "/webhooks/rest/webhook",
            json={
                "sender": check_sender_id(sender_id),
                "message": text,
                "metadata": metadata or {},
            },
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

    async def _append(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        await self._request(
            "POST",
            f"/conversations/{check_sender_id(sender_id)}/tracker/events",
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

    async def resume(self, sender_id: str) -> None:
        """Hand the conversation back to the bot and tell the customer."""
        await self._append(
            sender_id,
            [
                {"event": "resume", "timestamp": time.time()},
                {
                    "event": "bot",
                    "text": HANDBACK_TEXT,
                    "metadata": {"handback": True},
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
