"""Rate limits, replayed as attacks: a password-guessing run from one address, a chat flood from
one address and from one conversation; each is refused with 429 and Retry-After before it gets
far, other clients go on, and the logs name no address. With Redis storage, two app instances
(two web workers) share one count."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supportbot.settings import WebGuards
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

ATTACKER = ("203.0.113.7", 40000)
SOMEONE_ELSE = ("198.51.100.20", 40000)
REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "")


def app_for(rasa: FakeRasa, **settings: Any) -> FastAPI:
    """One web app (one process's counts) that several clients can reach."""
    app: FastAPI = client_for(rasa, make_settings(**settings)).app
    return app


def from_(app: FastAPI, address: tuple[str, int] = ATTACKER) -> TestClient:
    return TestClient(app, client=address)


def client(rasa: FakeRasa, address: tuple[str, int] = ATTACKER, **settings: Any) -> TestClient:
    return from_(app_for(rasa, **settings), address)


def assert_too_many(response: Any) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 3600
    assert response.json() == {"error": f"Too many requests: please try again in {retry_after} s"}
    return retry_after


def test_thirty_failed_logins_from_one_address_are_refused_before_the_thirtieth(
    crm_url: str, rasa: FakeRasa, caplog: pytest.LogCaptureFixture
):
    app = app_for(rasa, database_url=crm_url)
    attacker = from_(app)
    statuses = []
    with caplog.at_level(logging.INFO):
        for attempt in range(30):
            # A different account each time: the per-address limit, not an account's lockout.
            response = attacker.post(
                "/api/console/login",
                json={"email": f"agent{attempt}@support.test", "password": "wrong-password-1"},
            )
            statuses.append(response.status_code)
    first_refusal = statuses.index(429)
    assert first_refusal < 29 and set(statuses[:first_refusal]) == {401}
    assert set(statuses[first_refusal:]) == {429}
    # The default 10 a minute: the oldest attempt leaves the window about a minute after it.
    assert 30 <= assert_too_many(response) <= 60
    # Another address may still sign in (or fail to) as usual.
    other = from_(app, SOMEONE_ELSE).post(
        "/api/console/login", json={"email": "agent0@support.test", "password": "wrong-password-1"}
    )
    assert other.status_code == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "rate limit: login-client refused" in logged
    assert ATTACKER[0] not in logged and "agent1@support.test" not in logged


def test_a_chat_flood_from_one_address_is_refused_whatever_its_conversations(rasa: FakeRasa):
    app = app_for(rasa, web_guards=WebGuards(chat_send_per_client="5/minute"))
    attacker = from_(app)
    statuses = []
    for _ in range(8):
        attacker.cookies.clear()  # a new conversation for each message
        statuses.append(attacker.post("/api/chat/messages", json={"text": "hi"}).status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert len(rasa.received_metadata) == 5  # the refused messages never reached the assistant
    other = from_(app, SOMEONE_ELSE)
    assert other.post("/api/chat/messages", json={"text": "hi"}).status_code == 200


def test_a_chat_flood_in_one_conversation_is_refused_with_the_default_limits(rasa: FakeRasa):
    chatty = client(rasa)
    statuses = [
        chatty.post("/api/chat/messages", json={"text": f"message {n}"}).status_code
        for n in range(25)
    ]
    first_refusal = statuses.index(429)
    assert 5 <= first_refusal <= 20 and set(statuses[first_refusal:]) == {429}
    assert_too_many(chatty.post("/api/chat/messages", json={"text": "one more"}))
    assert len(rasa.received_metadata) == first_refusal
    # The same address with another conversation is not held up by this one.
    chatty.cookies.clear()
    assert chatty.post("/api/chat/messages", json={"text": "hello"}).status_code == 200


def test_reads_have_a_looser_limit_of_their_own(rasa: FakeRasa):
    guards = WebGuards(
        chat_read_per_conversation="10/minute", chat_send_per_conversation="2/minute"
    )
    widget = client(rasa, web_guards=guards)
    assert [widget.get("/api/chat/messages").status_code for _ in range(10)] == [200] * 10
    assert_too_many(widget.get("/api/chat/session"))
    # Sending counts separately: this conversation's reads being spent does not stop it.
    assert widget.post("/api/chat/messages", json={"text": "hi"}).status_code == 200


def test_ipv6_clients_are_counted_by_their_64(rasa: FakeRasa):
    app = app_for(rasa, web_guards=WebGuards(chat_send_per_client="3/minute"))
    statuses = []
    for n in range(5):  # one subscriber's /64 holds 2^64 addresses to rotate through
        rotating = from_(app, (f"2001:db8:1:2::{n + 1}", 40000))
        statuses.append(rotating.post("/api/chat/messages", json={"text": "hi"}).status_code)
    assert statuses == [200] * 3 + [429] * 2
    neighbour = from_(app, ("2001:db8:1:3::1", 40000))
    assert neighbour.post("/api/chat/messages", json={"text": "hi"}).status_code == 200


def test_a_flood_of_bad_messages_counts_too(rasa: FakeRasa):
    attacker = client(rasa, web_guards=WebGuards(chat_send_per_client="3/minute"))
    statuses = [
        attacker.post("/api/chat/messages", json={"text": ""}).status_code for _ in range(5)
    ]
    assert statuses == [422] * 3 + [429] * 2


def test_a_forged_forwarded_for_does_not_make_a_new_client(rasa: FakeRasa):
    """X-Forwarded-For is believed only from SUPPORTBOT_TRUSTED_PROXIES (none by default)."""
    attacker = client(rasa, web_guards=WebGuards(chat_send_per_client="3/minute"))
    statuses = [
        attacker.post(
            "/api/chat/messages", json={"text": "hi"}, headers={"X-Forwarded-For": f"10.0.0.{n}"}
        ).status_code
        for n in range(5)
    ]
    assert statuses == [200] * 3 + [429] * 2


def test_behind_a_trusted_proxy_each_client_is_counted_apart(rasa: FakeRasa):
    guards = WebGuards(chat_send_per_client="2/minute", trusted_proxies=("127.0.0.1/32",))
    proxy = client(rasa, ("127.0.0.1", 50000), web_guards=guards)

    def from_(address: str) -> int:
        proxy.cookies.clear()
        headers = {"X-Forwarded-For": address}
        return proxy.post("/api/chat/messages", json={"text": "hi"}, headers=headers).status_code

    assert [from_("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert from_("203.0.113.2") == 200


def test_when_the_shared_storage_is_down_requests_go_through_and_the_failure_is_logged(
    rasa: FakeRasa, caplog: pytest.LogCaptureFixture
):
    unused_port = _free_port()
    guards = WebGuards(rate_limit_storage=f"redis://127.0.0.1:{unused_port}/0")
    web = client(rasa, web_guards=guards)
    with caplog.at_level(logging.ERROR):
        assert web.post("/api/chat/messages", json={"text": "hi"}).status_code == 200
    assert "rate limit: the storage failed" in caplog.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis_answers() -> bool:
    if not REDIS_URL:
        return False
    address = urlsplit(REDIS_URL)
    try:
        socket.create_connection((address.hostname, address.port or 6379), 2).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_answers(), reason="needs SUPPORTBOT_TEST_REDIS_URL (a Redis)")
def test_two_app_instances_share_one_limit_in_redis(rasa: FakeRasa):
    # A fresh address for this run, so the counts of an earlier run cannot interfere.
    address = (f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::1", 40000)  # its own /64
    guards = WebGuards(rate_limit_storage=REDIS_URL, login_per_client="4/minute")
    first, second = (from_(app_for(rasa, web_guards=guards), address) for _ in range(2))
    statuses = [
        worker.post(
            "/api/console/login", json={"email": "x", "password": "y"}
        ).status_code  # 422 (no such email), counted all the same
        for worker in (first, second, first, second, first, second)
    ]
    assert statuses == [422] * 4 + [429] * 2
    # Each instance alone would have let all six through.
    alone = client(rasa, address, web_guards=WebGuards(login_per_client="4/minute"))
    assert alone.post("/api/console/login", json={"email": "x", "password": "y"}).status_code == 422
