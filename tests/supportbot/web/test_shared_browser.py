"""One browser, several people: issue 15's shared-browser attacks on the widget API, replayed.

The conversation cookie is signed for a principal (the customer of the host page's token, or
anonymous) and a start time; a request from another principal, or a cookie past its max age,
gets a new conversation and never the previous one's transcript."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from common import conversation_ids
from supportbot.identity import issue_customer_token
from tests.conftest import IDENTITY_SECRET
from tests.supportbot.web.conftest import SESSION_SECRET, FakeRasa, client_for, make_settings

ADA, GRACE = 1, 2
TWELVE_HOURS = 12 * 3600


def token(customer_id: int, ttl: int = 600, issued_at: float | None = None) -> dict[str, str]:
    signed = issue_customer_token(
        customer_id, secret=IDENTITY_SECRET, ttl_seconds=ttl, now=issued_at
    )
    return {"X-Customer-Token": signed}


def say(web: TestClient, text: str, headers: dict[str, str] | None = None) -> str:
    """Send a message as the widget does; the conversation it went to."""
    response = web.post("/api/chat/messages", json={"text": text}, headers=headers or {})
    assert response.status_code == 200, response.text
    conversation = conversation_ids.read(
        web.cookies.get(conversation_ids.COOKIE_NAME), SESSION_SECRET
    )
    assert conversation is not None
    return conversation.conversation_id


def history(web: TestClient, headers: dict[str, str] | None = None) -> list[str]:
    response = web.get("/api/chat/messages", headers=headers or {})
    assert response.status_code == 200
    return [m["text"] for m in response.json()["messages"]]


def test_an_anonymous_visitor_after_ada_gets_a_new_conversation(web: TestClient, rasa: FakeRasa):
    adas_page = token(ADA)
    adas = say(web, "show my invoices", adas_page)
    assert history(web, adas_page) == ["show my invoices", "echo: show my invoices"]

    # Ada leaves; the next person at the browser opens the shop's anonymous page.
    assert history(web) == []
    theirs = say(web, "show my invoices")

    assert theirs != adas
    assert rasa.received_metadata == [{"customer_token": adas_page["X-Customer-Token"]}, {}]
    assert [e["text"] for e in rasa.events[theirs] if e["event"] == "user"] == ["show my invoices"]


def test_ada_after_grace_gets_a_new_conversation(web: TestClient, rasa: FakeRasa):
    graces = say(web, "show my invoices", token(GRACE))

    assert history(web, token(ADA)) == []
    adas = say(web, "show my invoices", token(ADA))

    assert adas != graces
    # Grace's conversation is gone from this browser for good, even for an anonymous page.
    assert history(web) == []


def test_the_same_customer_keeps_her_conversation_across_pages_and_fresh_tokens(
    web: TestClient,
):
    first = say(web, "hello", token(ADA))
    # Every page load of the host page signs a new token for her.
    second = say(web, "hello again", token(ADA, issued_at=time.time() - 5))
    assert first == second


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Customer-Token": "not.a.token"},
        {"X-Customer-Token": "x" * 5000},
    ],
)
def test_a_token_we_did_not_sign_is_anonymous(web: TestClient, forged: dict[str, str]):
    adas = say(web, "hello", token(ADA))
    assert say(web, "hello", forged) != adas
    assert say(web, "hello") == say(web, "hello", forged)  # both anonymous


def test_an_expired_token_is_anonymous(web: TestClient):
    adas = say(web, "hello", token(ADA))
    expired = token(ADA, ttl=60, issued_at=time.time() - 600)
    assert history(web, expired) == [] and say(web, "hello", expired) != adas


def test_a_replayed_cookie_past_its_max_age_gets_a_new_conversation(
    web: TestClient, rasa: FakeRasa
):
    old = conversation_ids.new_conversation_id()
    rasa.events[old] = [{"event": "user", "text": "my invoices", "timestamp": 1.0}]
    replayed = conversation_ids.sign(
        old,
        SESSION_SECRET,
        principal=conversation_ids.ANONYMOUS,
        issued_at=int(time.time()) - TWELVE_HOURS - 1,
    )
    with_old_cookie = {"cookie": f"{conversation_ids.COOKIE_NAME}={replayed}"}

    assert history(web, with_old_cookie) == []
    assert say(web, "hello", with_old_cookie) != old


def test_the_cookie_expires_with_the_conversation_not_with_each_request(rasa: FakeRasa):
    web = client_for(rasa, make_settings(conversation_max_age_seconds=3600))
    started = int(time.time()) - 3000
    conversation = conversation_ids.new_conversation_id()
    cookie = conversation_ids.sign(
        conversation, SESSION_SECRET, principal=conversation_ids.ANONYMOUS, issued_at=started
    )

    response = web.get(
        "/api/chat/session", headers={"cookie": f"{conversation_ids.COOKIE_NAME}={cookie}"}
    )

    max_age = int(response.headers["set-cookie"].split("Max-Age=")[1].split(";")[0])
    assert 590 <= max_age <= 600  # what is left of the hour, not a new hour
    assert conversation_ids.verify(response.json()["session"], SESSION_SECRET) == conversation
    # The socket.io token expires with the conversation too.
    assert (
        conversation_ids.verify(
            response.json()["session"], SESSION_SECRET, max_age=3600, now=started + 3601
        )
        is None
    )


def test_the_socket_token_is_not_a_cookie(web: TestClient):
    """The socket.io token is readable by the page's scripts; as a cookie it opens nothing."""
    session = web.get("/api/chat/session").json()["session"]
    conversation = conversation_ids.verify(session, SESSION_SECRET)
    as_cookie = {"cookie": f"{conversation_ids.COOKIE_NAME}={session}"}
    fresh = client_for(FakeRasa(), make_settings())
    assert say(fresh, "hello", as_cookie) != conversation
