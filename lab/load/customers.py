"""Closed-loop customers over Rasa's REST channel: each waits for the reply before it types on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from common.channel_signing import signed_json

# A customer gives up on a reply after this long; the turn counts as a timeout, never dropped.
REPLY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Turn:
    """One message and what came back."""

    sender: str
    index: int  # the message's position in its conversation, from 0
    text: str
    latency_ms: float
    replies: int  # bot messages in the response
    error: str | None  # "timeout", "HTTP 500", a connection error; None when answered

    @property
    def answered(self) -> bool:
        return self.error is None and self.replies > 0


@dataclass(frozen=True)
class Load:
    """What a closed-loop run sent and how long it took."""

    customers: int
    turns: list[Turn]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.turns) / self.seconds if self.seconds else 0.0

    def latencies(self) -> list[float]:
        return [turn.latency_ms for turn in self.turns if turn.error is None]

    def errors(self) -> list[Turn]:
        return [turn for turn in self.turns if turn.error is not None]

    def unanswered(self) -> list[Turn]:
        return [turn for turn in self.turns if not turn.answered]

    def conversations(self) -> dict[str, list[str]]:
        """What each sender said, in order."""
        said: dict[str, list[str]] = {}
        for turn in sorted(self.turns, key=lambda t: (t.sender, t.index)):
            said.setdefault(turn.sender, []).append(turn.text)
        return said


def customer_message(sender: str, text: str, session_secret: str | None) -> dict[str, Any]:
    """httpx's arguments for a message to a REST channel: signed as the project's web app signs
    it when there is a secret (the project's channel answers nothing else), else plain JSON (the
    stock bot's `rest` channel)."""
    message = {"sender": sender, "message": text}
    if session_secret is None:
        return {"json": message}
    body, headers = signed_json({**message, "client_address": "127.0.0.1"}, session_secret)
    return {"content": body, "headers": headers}


async def _say(
    client: httpx.AsyncClient, sender: str, index: int, text: str, session_secret: str | None
) -> Turn:
    start = time.perf_counter()
    error: str | None = None
    replies = 0
    try:
        response = await client.post(
            "/webhooks/rest/webhook", **customer_message(sender, text, session_secret)
        )
        if response.status_code == 200:
            replies = len(response.json())
        else:
            error = f"HTTP {response.status_code}"
    except httpx.TimeoutException:
        error = "timeout"
    except httpx.HTTPError as failure:
        error = type(failure).__name__
    return Turn(sender, index, text, (time.perf_counter() - start) * 1000, replies, error)


async def _customer(
    client: httpx.AsyncClient,
    name: str,
    script: Sequence[str],
    messages: int,
    turns: list[Turn],
    progress: Callable[[], None],
    session_secret: str | None,
) -> None:
    """Runs the script again, as a new conversation, until `messages` have been sent."""
    conversation = 0
    sent = 0
    while sent < messages:
        sender = f"{name}-{conversation}-{uuid.uuid4().hex[:8]}"
        for index, text in enumerate(script):
            if sent == messages:
                break
            turns.append(await _say(client, sender, index, text, session_secret))
            sent += 1
            progress()
        conversation += 1


def run_customers(
    base_url: str,
    script: Sequence[str],
    *,
    customers: int,
    messages_each: int,
    label: str,
    log: Callable[[str], None],
    session_secret: str | None = None,
) -> Load:
    """`customers` closed-loop customers, each sending `messages_each` messages (signed with
    `session_secret` when the bot wants it)."""
    turns: list[Turn] = []
    total = customers * messages_each
    step = max(1, total // 5)

    def progress() -> None:
        if len(turns) % step == 0 or len(turns) == total:
            log(f"    {label}: {len(turns)}/{total} messages")

    async def main() -> float:
        limits = httpx.Limits(max_connections=customers, max_keepalive_connections=customers)
        async with httpx.AsyncClient(
            base_url=base_url, timeout=REPLY_TIMEOUT_S, limits=limits
        ) as client:
            start = time.perf_counter()
            await asyncio.gather(
                *(
                    _customer(
                        client, f"c{n}", script, messages_each, turns, progress, session_secret
                    )
                    for n in range(customers)
                )
            )
            return time.perf_counter() - start

    seconds = asyncio.run(main())
    return Load(customers, turns, seconds)


def run_long_conversation(
    base_url: str,
    script: Sequence[str],
    *,
    turns: int,
    log: Callable[[str], None],
    session_secret: str | None = None,
) -> Load:
    """One customer, one conversation, `turns` messages (the script repeated)."""
    sender = f"long-{uuid.uuid4().hex[:8]}"
    said: list[Turn] = []

    async def main() -> float:
        async with httpx.AsyncClient(base_url=base_url, timeout=REPLY_TIMEOUT_S) as client:
            start = time.perf_counter()
            for index in range(turns):
                text = script[index % len(script)]
                said.append(await _say(client, sender, index, text, session_secret))
                if (index + 1) % max(1, turns // 5) == 0:
                    log(f"    long conversation: {index + 1}/{turns} turns")
            return time.perf_counter() - start

    seconds = asyncio.run(main())
    return Load(1, said, seconds)
