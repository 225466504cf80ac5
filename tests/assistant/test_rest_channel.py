"""The signed REST channel: only what the web app signed, fresh, of a bounded size, as JSON, for a
named conversation; no message text in the logs.

Each attack on Rasa's bare `rest` channel from issue 15 is replayed against a real Sanic server
with the channel's blueprint, and refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from assistant.channels import MAX_CHANNEL_BODY_BYTES, SignedRestInput
from common.channel_signing import client_key, sign_request, signed_json
from common.chat_messages import MAX_MESSAGE_LENGTH
from tests.assistant.servers import Bot, new_app, run, serving

SECRET = "rest-channel-test-secret-0123456789abcdef"
SENDER = "0123456789abcdef0123456789abcdef"
SECRET_TEXT = "my card number is 4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def session_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_SESSION_SECRET", SECRET)
    monkeypatch.setattr(Sanic, "test_mode", True)


@asynccontextmanager
async def rest_channel(
    bot: Callable[[UserMessage], Awaitable[None]], response_timeout: int = 60
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The channel at Rasa's URL for it, and a client session."""
    channel = SignedRestInput.from_credentials(None)
    app = new_app()
    app.config.RESPONSE_TIMEOUT = response_timeout
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/rest")
    async with serving(app) as url, aiohttp.ClientSession() as client:
        yield f"{url}/webhooks/rest/webhook", client


def message(**fields: Any) -> dict[str, Any]:
    return {"sender": SENDER, "message": "where is my order?", **fields}


async def post(
    client: aiohttp.ClientSession, url: str, body: bytes | Any, headers: dict[str, str]
) -> tuple[int, Any]:
    async with client.post(url, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def post_signed(
    client: aiohttp.ClientSession, url: str, fields: dict[str, Any]
) -> tuple[int, Any]:
    return await post(client, url, *signed_json(fields, SECRET))


def test_a_signed_message_is_answered_with_only_the_metadata_the_web_app_sends() -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            status, replies = await post_signed(
                client,
                url,
                message(
                    metadata={"customer_token": "signed.token", "customer_id": 1, "admin": True},
                    client_address="203.0.113.7",
                    input_channel="socketio",
                ),
            )

            assert status == 200
            assert replies == [{"recipient_id": SENDER, "text": "echo: where is my order?"}]
            [received] = bot.received
            assert received.sender_id == SENDER
            assert received.input_channel == "rest"
            assert received.metadata == {
                "customer_token": "signed.token",
                "client": client_key("203.0.113.7", SECRET),
            }

    run(scenario)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # Rasa's bare channel: the body alone
        sign_request(b"another body", SECRET),
        sign_request(json.dumps(message()).encode(), "another-secret-0123456789abcdef"),
        # Validly signed, an hour ago: a replay.
        sign_request(json.dumps(message()).encode(), SECRET, now=time.time() - 3600),
        {"X-Supportbot-Timestamp": str(int(time.time())), "X-Supportbot-Signature": "0" * 64},
    ],
    ids=["unsigned", "other-body", "other-key", "stale", "forged"],
)
def test_a_message_the_web_app_did_not_sign_just_now_is_refused(headers: dict[str, str]) -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            body = json.dumps(message(message="/get_invoice")).encode()
            status, answer = await post(
                client, url, body, {"Content-Type": "application/json", **headers}
            )
            assert status == 401
            assert "error" in answer
            assert bot.received == []

    run(scenario)


@pytest.mark.parametrize(
    "fields",
    [
        {"message": "hi"},  # Rasa's would use a shared "default" conversation
        {"sender": "", "message": "hi"},
        {"sender": "   ", "message": "hi"},
        {"sender": f"{SENDER}\n", "message": "hi"},
        {"sender": "../../conversations/x", "message": "hi"},
        {"sender": 42, "message": "hi"},
        {"sender": SENDER},
        {"sender": SENDER, "message": "   "},
        {"sender": SENDER, "message": ["hi"]},
    ],
)
def test_a_message_without_a_sender_or_text_is_refused(fields: dict[str, Any]) -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            status, answer = await post_signed(client, url, fields)
            assert status == 400
            assert "error" in answer
            assert bot.received == []

    run(scenario)


def test_a_body_that_is_not_a_json_object_is_refused() -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            for body in (b"not json", b"[1, 2]"):
                headers = {"Content-Type": "application/json", **sign_request(body, SECRET)}
                assert (await post(client, url, body, headers))[0] == 400
            assert bot.received == []

    run(scenario)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_cross_site_post_that_is_not_json_is_refused(content_type: str | None) -> None:
    """A form or fetch() from another origin can send text/plain without a preflight."""

    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            body = json.dumps(message()).encode()
            headers = sign_request(body, SECRET)  # even signed
            if content_type:
                headers["Content-Type"] = content_type
            else:
                headers["Content-Type"] = ""
            status, _ = await post(client, url, body, headers)
            assert status == 415
            assert bot.received == []

    run(scenario)


def test_an_oversized_body_is_refused_unread() -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            # The 1 MB message, signed and all.
            status, answer = await post_signed(client, url, message(message="x" * 1_000_000))
            assert status == 413
            assert str(MAX_CHANNEL_BODY_BYTES) in answer["error"]

            # Without a Content-Length (chunked), the body is read up to the cap only.
            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(64):
                    yield b" " * 16_384

            status, _ = await post(client, url, chunks(), {"Content-Type": "application/json"})
            assert status == 413
            assert bot.received == []

    run(scenario)


def test_an_oversized_message_is_refused() -> None:
    async def scenario() -> None:
        bot = Bot()
        async with rest_channel(bot) as (url, client):
            status, answer = await post_signed(
                client, url, message(message="x" * (MAX_MESSAGE_LENGTH + 1))
            )
            assert status == 413
            assert str(MAX_MESSAGE_LENGTH) in answer["error"]
            status, _ = await post_signed(client, url, message(message="x" * MAX_MESSAGE_LENGTH))
            assert status == 200
            assert len(bot.received) == 1

    run(scenario)


def test_no_message_text_is_logged_when_a_turn_fails_or_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def hang(message: UserMessage) -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        failing = Bot()
        failing.fail = True
        async with rest_channel(failing) as (url, client):
            status, replies = await post_signed(client, url, message(message=SECRET_TEXT))
            assert (status, replies) == (200, [])
        # Sanic cancels the turn after its response timeout; Rasa's channel then logs the text.
        async with rest_channel(hang, response_timeout=1) as (url, client):
            status, _ = await post_signed(client, url, message(message=SECRET_TEXT))
            assert status == 503

    with caplog.at_level(logging.DEBUG):
        run(scenario)
    assert "the assistant failed (RuntimeError at " in caplog.text
    assert "cancelled" in caplog.text
    assert "4111" not in caplog.text


def test_the_channel_needs_the_session_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORTBOT_SESSION_SECRET")
    with pytest.raises(ValueError, match="SUPPORTBOT_SESSION_SECRET"):
        SignedRestInput.from_credentials(None)
