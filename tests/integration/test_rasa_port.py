"""Issue 15's attacks on the Rasa port (REST channel, HTTP API), replayed against the real server:
each is refused, and a customer's turn still works."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from common.channel_signing import sign_request
from tests.stack import API_HEADERS, API_TOKEN, SESSION_SECRET, Stack, signed_message

pytestmark = pytest.mark.integration


def webhook(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def test_the_sender_alone_no_longer_speaks_for_a_conversation(stack: Stack) -> None:
    sender = "it-rasa-port-0001"
    assert stack.say(sender, "hello")  # the web app's way: signed
    forged = {"sender": sender, "message": "/get_invoice"}
    for body in (forged, {"message": "/get_invoice"}):  # a missing sender was "default"
        response = httpx.post(webhook(stack), json=body, timeout=30)
        assert response.status_code == 401
    said = [e["text"] for e in stack.tracker(sender)["events"] if e.get("event") == "user"]
    assert said == ["hello"]


def test_a_cross_site_text_plain_post_is_refused(stack: Stack) -> None:
    response = httpx.post(
        webhook(stack),
        content=json.dumps({"sender": "it-rasa-port-0002", "message": "hi"}),
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        timeout=30,
    )
    assert response.status_code == 415


def test_a_one_megabyte_message_is_refused_at_once(stack: Stack) -> None:
    """It took 27.8 s and 1.9 GB of Rasa's memory, and stalled every other customer."""
    started = time.monotonic()
    response = httpx.post(
        webhook(stack), **signed_message("it-rasa-port-0003", "x" * 1_000_000), timeout=30
    )
    assert response.status_code == 413
    assert time.monotonic() - started < 5  # refused unread, not parsed
    huge = b"[" + b" " * 1_000_000 + b"]"
    response = httpx.post(
        f"{stack.rasa_url}/conversations/it-rasa-port-0003/tracker/events",
        content=huge,
        headers={**API_HEADERS, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413


def test_a_replayed_signed_message_is_refused_after_a_minute(stack: Stack) -> None:
    body = json.dumps({"sender": "it-rasa-port-0004", "message": "hi"}).encode()
    # Signed with another key, then with ours two minutes ago.
    headers = {"Content-Type": "application/json", **sign_request(body, "x" * 40)}
    assert httpx.post(webhook(stack), content=body, headers=headers).status_code == 401
    stale = sign_request(body, SESSION_SECRET, now=time.time() - 120)
    response = httpx.post(
        webhook(stack), content=body, headers={"Content-Type": "application/json", **stale}
    )
    assert response.status_code == 401


def test_the_api_token_is_refused_in_a_query_string(stack: Stack) -> None:
    tracker = f"{stack.rasa_url}/conversations/it-rasa-port-0005/tracker"
    assert httpx.get(tracker, params={"token": API_TOKEN}).status_code == 401
    assert httpx.get(tracker, headers=API_HEADERS).status_code == 200


def test_rasa_answers_with_the_security_headers_and_no_caching(stack: Stack) -> None:
    tracker = httpx.get(
        f"{stack.rasa_url}/conversations/it-rasa-port-0006/tracker", headers=API_HEADERS
    )
    reply = httpx.post(webhook(stack), **signed_message("it-rasa-port-0006", "hi"), timeout=60)
    for response in (tracker, reply):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
