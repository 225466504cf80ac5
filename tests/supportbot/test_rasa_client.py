"""The Rasa client's side of the channel's checks: what it sends, over a recording transport."""

from __future__ import annotations

import json

import httpx
import pytest

from common.channel_signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    client_key,
    sign_request,
    verify_request,
)
from supportbot.rasa_client import RasaClient, RasaRequestError

SECRET = "session-secret-for-tests-0123456789"
TOKEN = "rasa-api-token-for-tests-0123456789"
SENDER = "0123456789abcdef0123456789abcdef"


def recording_client(sent: list[httpx.Request], secret: str | None = SECRET) -> RasaClient:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/webhooks/rest/webhook":
            return httpx.Response(200, json=[{"recipient_id": SENDER, "text": "hi"}])
        return httpx.Response(200, json={"events": [], "paused": False, "model_file": "m"})

    return RasaClient(
        "http://rasa.test", TOKEN, session_secret=secret, transport=httpx.MockTransport(handle)
    )


async def test_a_customer_message_is_signed_over_its_exact_body():
    sent: list[httpx.Request] = []
    replies = await recording_client(sent).send_message(
        SENDER, "where is my order?", {"customer_token": "t"}, client_address="203.0.113.7"
    )

    assert replies == [{"recipient_id": SENDER, "text": "hi"}]
    (request,) = sent
    assert request.headers["content-type"] == "application/json"
    timestamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    assert verify_request(request.content, timestamp, signature, SECRET)
    assert json.loads(request.content) == {
        "sender": SENDER,
        "message": "where is my order?",
        "metadata": {"customer_token": "t"},
        "client_address": "203.0.113.7",
    }
    # Another key, or one changed byte, and the signature no longer holds.
    assert not verify_request(request.content, timestamp, signature, "another-secret-0123456789")
    tampered = request.content.replace(SENDER.encode(), b"f" * 32)
    assert not verify_request(tampered, timestamp, signature, SECRET)


async def test_without_the_session_secret_no_message_is_sent():
    sent: list[httpx.Request] = []
    with pytest.raises(RasaRequestError):
        await recording_client(sent, secret=None).send_message(SENDER, "hi")
    assert sent == []


async def test_the_api_token_goes_only_in_the_authorization_header():
    sent: list[httpx.Request] = []
    client = recording_client(sent)
    await client.transcript(SENDER)
    await client.post_agent_reply(SENDER, "On its way.", "Sam")
    assert await client.is_ready()
    assert len(sent) == 3
    for request in sent:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert "token" not in request.url.params
        assert TOKEN not in str(request.url)


def test_a_stale_or_future_signature_is_refused():
    body = b'{"sender": "a", "message": "hi"}'
    headers = sign_request(body, SECRET, now=1_000_000)
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert verify_request(body, timestamp, signature, SECRET, now=1_000_030)
    assert not verify_request(body, timestamp, signature, SECRET, now=1_000_061)
    assert not verify_request(body, timestamp, signature, SECRET, now=999_939)
    assert not verify_request(body, None, signature, SECRET, now=1_000_000)
    assert not verify_request(body, "-5", signature, SECRET, now=1_000_000)


def test_a_client_key_is_stable_opaque_and_keyed():
    key = client_key("203.0.113.7", SECRET)
    assert key == client_key("203.0.113.7", SECRET)
    assert key != client_key("203.0.113.8", SECRET)
    assert key != client_key("203.0.113.7", "another-secret-0123456789")
    assert len(key) == 32 and int(key, 16) >= 0  # hex digits, no trace of the address
