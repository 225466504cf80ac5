"""One customer's messages, sent at once, on the default stack and on the scaled-out one (two Rasa
workers and two action-server workers, Redis lock store, socket.io over Redis, PostgreSQL tracker
store and CRM; tests/stack.py).

Rasa's lock store admits one message of a conversation at a time: whatever order the messages
arrive in, the tracker holds each exactly once, each followed by its own replies, which are the
replies its sender got. With several workers only a shared (Redis) lock store can promise that,
and only the socket.io message queue brings a message posted to one worker to a socket held by
another.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import socketio

from common import conversation_ids
from tests.stack import (
    API_HEADERS,
    SESSION_SECRET,
    WEB_PORT,
    Stack,
    established_connections,
    signed_message,
)

pytestmark = pytest.mark.integration

BURST = 20
SCRIPT = ["hi", "what is your return policy?", "thanks"]
ROUNDS = 5  # socket.io and REST at once, in one conversation
TIMEOUT_S = 120


@pytest.fixture(params=["default", "scaled"])
def any_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    yield request.getfixturevalue("stack" if request.param == "default" else "scaled_stack")


def tracker_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    return list(stack.tracker(sender)["events"])


def turns(events: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Each user message in the tracker's order, with the bot's texts up to the next one."""
    result: list[tuple[str, list[str]]] = []
    for event in events:
        if event["event"] == "user":
            result.append((event["text"], []))
        elif event["event"] == "bot":
            assert result, f"a bot message before any user message: {event['text']!r}"
            result[-1][1].append(event["text"])
    return result


def assert_each_turn_is_whole(
    events: list[dict[str, Any]], answers: list[tuple[str, list[str]]]
) -> None:
    """The tracker holds each message once, followed by exactly the replies its sender got."""
    recorded = turns(events)
    assert sorted(text for text, _ in recorded) == sorted(text for text, _ in answers)
    unmatched = list(answers)
    for turn in recorded:
        # Equal texts with equal replies are interchangeable; anything else must match exactly.
        assert turn in unmatched, f"{turn} in the tracker matches no answer of {unmatched}"
        unmatched.remove(turn)
    assert all(replies for _, replies in recorded), f"a message got no reply: {recorded}"


async def say(client: httpx.AsyncClient, stack: Stack, sender: str, text: str) -> list[str]:
    response = await client.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", **signed_message(sender, text)
    )
    response.raise_for_status()
    return [message["text"] for message in response.json()]


async def test_a_burst_from_one_customer_is_answered_in_order(any_stack: Stack) -> None:
    sender = f"burst-{uuid.uuid4().hex}"
    texts = [SCRIPT[i % len(SCRIPT)] for i in range(BURST)]
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        replies = await asyncio.gather(*(say(client, any_stack, sender, t) for t in texts))

    assert_each_turn_is_whole(
        tracker_events(any_stack, sender), list(zip(texts, replies, strict=True))
    )


class Widget:
    """A socket.io client as the widget connects: a websocket, with the web app's signed id."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: list[dict[str, Any]] = []
        self.client.on("bot_uttered", self.replies.append)

    async def join(self, stack: Stack, conversation_id: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", confirmed.set_result)
        await self.client.connect(
            stack.rasa_url,
            headers={"Origin": f"http://127.0.0.1:{WEB_PORT}"},
            transports=["websocket"],
        )
        signed = conversation_ids.sign(conversation_id, SESSION_SECRET)
        await self.client.emit("session_request", {"session_id": signed})
        assert await asyncio.wait_for(confirmed, 30) == conversation_id

    async def say(self, text: str) -> None:
        """Sends a message and waits for the end of its turn (the acknowledgement). The replies
        may come after it: with the message queue they reach the socket through Redis."""
        ack = await self.client.call("user_uttered", {"message": text}, timeout=TIMEOUT_S)
        assert ack == {"status": "ok"}

    async def received(self, count: int, timeout: float = 15) -> list[str]:
        """The texts of the first `count` bot messages, once that many have arrived."""

        async def arrived() -> None:
            while len(self.replies) < count:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(arrived(), timeout)
        return [reply["text"] for reply in self.replies]

    async def next_reply(self, timeout: float = 15) -> dict[str, Any]:
        async def arrived() -> dict[str, Any]:
            while not self.replies:
                await asyncio.sleep(0.05)
            return self.replies.pop(0)

        return await asyncio.wait_for(arrived(), timeout)


async def test_socket_io_and_rest_at_once_in_one_conversation(any_stack: Stack) -> None:
    conversation_id = conversation_ids.new_conversation_id()
    on_socket, on_rest = "what is your return policy?", "hi"
    widget = Widget()
    rest_replies: list[list[str]] = []
    try:
        await widget.join(any_stack, conversation_id)
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            for _ in range(ROUNDS):
                _, replies = await asyncio.gather(
                    widget.say(on_socket), say(client, any_stack, conversation_id, on_rest)
                )
                rest_replies.append(replies)
        recorded = turns(tracker_events(any_stack, conversation_id))
        socket_turns = [replies for text, replies in recorded if text == on_socket]
        socket_replies = await widget.received(sum(map(len, socket_turns)))
    finally:
        await widget.client.disconnect()

    assert sorted(text for text, _ in recorded) == sorted([on_socket, on_rest] * ROUNDS)
    assert all(replies for _, replies in recorded), f"a message got no reply: {recorded}"
    # Each channel sent its messages one after another, so each one's turns are in that order.
    assert [replies for text, replies in recorded if text == on_rest] == rest_replies
    assert socket_replies == [text for replies in socket_turns for text in replies]
    assert len(widget.replies) == len(socket_replies), "the socket got another turn's replies"


def connections_to(stack: Stack) -> set[int]:
    """The local ports of this process's connections to the Rasa server."""
    return {
        local for local, remote in established_connections(os.getpid()) if remote == stack.rasa_port
    }


async def on_each_worker(
    stack: Stack, workers: int, connect: Callable[[], Awaitable[Any]]
) -> dict[int, Any]:
    """Connects until a connection lands on each Rasa worker: {worker pid: what `connect` made}.
    (The workers accept from one listening socket, so where a connection lands is chance.)"""
    found: dict[int, Any] = {}
    for _ in range(20 * workers):
        before = connections_to(stack)
        made = await connect()
        (port,) = connections_to(stack) - before
        found.setdefault(stack.rasa_worker(port), made)
        if len(found) == workers:
            return found
    raise AssertionError(f"connections landed on only {len(found)} of {workers} workers")


async def test_a_message_posted_to_any_worker_reaches_a_socket_on_any_worker(
    scaled_stack: Stack,
) -> None:
    """What an agent posts through Rasa's HTTP API reaches the customer's socket, whichever
    worker takes the request and whichever holds the socket."""
    workers = 2
    sockets: list[tuple[str, Widget]] = []
    clients: list[httpx.AsyncClient] = []

    async def open_socket() -> tuple[str, Widget]:
        conversation_id, widget = conversation_ids.new_conversation_id(), Widget()
        await widget.join(scaled_stack, conversation_id)
        sockets.append((conversation_id, widget))
        return conversation_id, widget

    async def open_client() -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=scaled_stack.rasa_url, timeout=30)
        clients.append(client)
        (await client.get("/")).raise_for_status()  # opens its one keep-alive connection
        return client

    try:
        socket_on = await on_each_worker(scaled_stack, workers, open_socket)
        client_on = await on_each_worker(scaled_stack, workers, open_client)
        for socket_worker, (conversation_id, widget) in socket_on.items():
            for request_worker, client in client_on.items():
                text = f"from worker {request_worker} to a socket on worker {socket_worker}"
                response = await client.post(
                    f"/conversations/{conversation_id}/tracker/events",
                    params={"output_channel": "socketio", "execute_side_effects": "true"},
                    headers=API_HEADERS,
                    json=[{"event": "bot", "text": text}],
                )
                response.raise_for_status()
                stream = response.extensions["network_stream"]
                assert scaled_stack.rasa_worker(stream.get_extra_info("client_addr")[1]) == (
                    request_worker
                ), "the client's connection moved to another worker"
                assert (await widget.next_reply())["text"] == text
        assert all(not widget.replies for _, widget in sockets), "a message reached another socket"
    finally:
        for _, widget in sockets:
            await widget.client.disconnect()
        for client in clients:
            await client.aclose()
