"""The widget's chat API: server-chosen conversations, clear errors, nothing lost."""

from __future__ import annotations

from fastapi.testclient import TestClient

from common import conversation_ids
from supportbot.rasa_client import messages_from_events
from tests.supportbot.web.conftest import SESSION_SECRET, FakeRasa, client_for, make_settings


def say(web: TestClient, text: str, after: int = 0, **extra: object) -> dict:
    response = web.post("/api/chat/messages", json={"text": text, "after": after, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_visitor_gets_a_random_128_bit_conversation(web: TestClient, rasa: FakeRasa):
    say(web, "hello")
    conversation = conversation_ids.verify(
        web.cookies.get(conversation_ids.COOKIE_NAME), SESSION_SECRET
    )
    assert conversation is not None and len(conversation) == 32
    int(conversation, 16)  # hex digits
    assert list(rasa.events) == [conversation]


def test_the_conversation_continues_across_requests(web: TestClient):
    first = say(web, "hello")
    assert [m["text"] for m in first["messages"]] == ["hello", "echo: hello"]
    second = say(web, "where is my order", after=first["total"])
    assert [m["sender"] for m in second["messages"]] == ["customer", "bot"]
    assert second["total"] == 4
    # A reload asks for the whole history.
    history = web.get("/api/chat/messages").json()
    assert [m["text"] for m in history["messages"]] == [
        "hello",
        "echo: hello",
        "where is my order",
        "echo: where is my order",
    ]


def test_a_forged_conversation_cookie_is_ignored(web: TestClient, rasa: FakeRasa):
    victim = "0123456789abcdef0123456789abcdef"
    rasa.events[victim] = [{"event": "user", "text": "my secret order", "timestamp": 1.0}]
    forged = {"cookie": f"{conversation_ids.COOKIE_NAME}={victim}.not-our-signature"}

    response = web.get("/api/chat/messages", headers=forged)

    assert response.json()["messages"] == []
    given = conversation_ids.verify(
        response.cookies.get(conversation_ids.COOKIE_NAME), SESSION_SECRET
    )
    assert given is not None and given != victim


def test_only_the_customer_token_is_forwarded_as_metadata(web: TestClient, rasa: FakeRasa):
    response = web.post(
        "/api/chat/messages",
        json={"text": "hi", "customer_token": "from.the.body", "metadata": {"customer_id": 1}},
        headers={"X-Customer-Token": "signed.token.value"},
    )
    assert response.status_code == 200
    assert rasa.received_metadata == [{"customer_token": "signed.token.value"}]


def test_the_browser_address_goes_to_rasa_inside_the_signed_message(
    web: TestClient, rasa: FakeRasa
):
    say(web, "hi")
    # The fake answers only a valid signature; TestClient's peer is "testclient".
    assert rasa.client_addresses == ["testclient"]


def test_blank_and_oversized_messages_get_a_clear_error(web: TestClient, rasa: FakeRasa):
    blank = web.post("/api/chat/messages", json={"text": "   "})
    huge = web.post("/api/chat/messages", json={"text": "x" * 1001})
    assert blank.status_code == huge.status_code == 422
    assert "needs some text" in blank.json()["error"]
    assert "1000" in huge.json()["error"]
    assert rasa.events == {}


def test_rasa_down_is_a_503_with_a_message_not_a_trace(web: TestClient, rasa: FakeRasa):
    rasa.down = True
    response = web.post("/api/chat/messages", json={"text": "hello"})
    assert response.status_code == 503
    assert response.json() == {
        "error": "The assistant is not available right now. Please try again in a moment."
    }


def test_a_paused_conversation_reports_it_and_stays_quiet(web: TestClient):
    reply = say(web, "I want a human")
    assert reply["paused"] is True
    quiet = say(web, "hello?", after=reply["total"])
    assert [m["sender"] for m in quiet["messages"]] == ["customer"]
    assert quiet["paused"] is True


def test_pages_carry_security_headers(web: TestClient):
    response = web.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/widget.js"' in response.text
    assert web.get("/static/widget.js").status_code == 200


def test_a_quick_reply_shows_its_title_not_its_payload() -> None:
    events = [
        {
            "event": "bot",
            "text": "Cancel order 100004?",
            "data": {"buttons": [{"title": "Yes, cancel it", "payload": "/affirm"}]},
        },
        {"event": "user", "text": "/affirm"},
        {"event": "user", "text": "/deny"},
    ]
    assert [m.text for m in messages_from_events(events)] == [
        "Cancel order 100004?",
        "Yes, cancel it",
        "/deny",
    ]


def test_a_clarified_fallback_message_is_shown_once() -> None:
    events = [
        {"event": "user", "text": "blorp"},
        {"event": "bot", "text": "Do you want to track an order?"},
        {"event": "user", "text": "I want a human"},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "I want a human"},
        {"event": "bot", "text": "Connecting you with a person."},
    ]
    assert [m.text for m in messages_from_events(events)] == [
        "blorp",
        "Do you want to track an order?",
        "I want a human",
        "Connecting you with a person.",
    ]


def test_what_the_customer_saw_stays_after_a_fallback_reverts_it() -> None:
    events = [
        {"event": "user", "text": "zzz"},
        {"event": "bot", "text": "Sorry, I still can't work out what you need."},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
        {"event": "bot", "text": "(agent) hello"},
        {"event": "user", "text": "zzz"},
    ]
    assert [m.text for m in messages_from_events(events)] == [
        "zzz",
        "Sorry, I still can't work out what you need.",
        "(agent) hello",
        "zzz",
    ]


def session(web: TestClient, **headers: str) -> dict:
    response = web.get("/api/chat/session", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_the_socket_session_is_the_conversation_of_the_cookie(web: TestClient, rasa: FakeRasa):
    token = session(web)["session"]
    conversation = conversation_ids.verify(token, SESSION_SECRET)
    assert conversation == conversation_ids.verify(
        web.cookies.get(conversation_ids.COOKIE_NAME), SESSION_SECRET
    )
    # A reload (or a second tab) with the cookie gets the same conversation, over both channels.
    assert session(web)["session"] == token
    say(web, "hello")
    assert list(rasa.events) == [conversation]


def test_each_new_visitor_gets_a_random_128_bit_session(rasa: FakeRasa):
    ids = set()
    for _ in range(20):
        conversation = conversation_ids.verify(
            session(client_for(rasa, make_settings()))["session"], SESSION_SECRET
        )
        assert conversation is not None and len(conversation) == 32
        int(conversation, 16)
        ids.add(conversation)
    assert len(ids) == 20


def test_a_forged_cookie_gets_a_new_session(web: TestClient):
    victim = "0123456789abcdef0123456789abcdef"
    for cookie in (victim, f"{victim}.not-our-signature", conversation_ids.sign(victim, "x" * 40)):
        token = session(web, cookie=f"{conversation_ids.COOKIE_NAME}={cookie}")["session"]
        given = conversation_ids.verify(token, SESSION_SECRET)
        assert given is not None and given != victim


def test_the_widget_learns_where_the_socket_is_and_the_csp_allows_it(rasa: FakeRasa):
    default = client_for(rasa, make_settings(rasa_url="http://127.0.0.1:5105"))
    assert session(default)["socket_url"] == "http://127.0.0.1:5105"
    web = client_for(rasa, make_settings(socket_url="https://chat.example.com"))
    assert session(web)["socket_url"] == "https://chat.example.com"
    policy = web.get("/").headers["content-security-policy"]
    assert "connect-src 'self' https://chat.example.com wss://chat.example.com;" in policy


def test_the_widget_gets_the_keys_it_reads(web: TestClient, rasa: FakeRasa):
    answer = session(web)
    assert set(answer) == {"session", "socket_url"}
    conversation = conversation_ids.verify(answer["session"], SESSION_SECRET)
    assert conversation is not None
    agent = {"agent": True, "agent_name": "Sam"}
    rasa.events[conversation] = [{"event": "bot", "text": "Sam here.", "metadata": agent}]

    view = web.get("/api/chat/messages").json()

    assert set(view) == {"messages", "total", "paused"}
    assert view["messages"] == [
        {
            "sender": "agent",
            "text": "Sam here.",
            "timestamp": None,
            "buttons": [],
            "notice": None,
            "agent_name": "Sam",
        }
    ]
