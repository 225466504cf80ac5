"""A real Sanic server on a free port for the channel and server tests, and a stand-in for
Rasa's agent that answers through the channel."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

_apps = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_app() -> Sanic:
    """A Sanic app with a name of its own (needs `Sanic.test_mode`, as sanic-testing sets it)."""
    return Sanic(f"channel_test_{next(_apps)}", configure_logging=False)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run a test's async scenario, within a minute."""
    asyncio.run(asyncio.wait_for(scenario(), timeout=60))


@asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[str]:
    """`app` served on 127.0.0.1 while the block runs; yields its base URL."""
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    assert server is not None
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


class Bot:
    """Stands in for Rasa's agent: records each message and answers it through the channel."""

    def __init__(self) -> None:
        self.received: list[UserMessage] = []
        self.fail = False

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.fail:
            raise RuntimeError(f"the action server is down (while handling {message.text!r})")
        await message.output_channel.send_response(
            message.sender_id, {"text": f"echo: {message.text}", "timestamp": 2.0}
        )
