"""The console API: sessions guard every route, login and logout, filters, reviews, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from supportbot.console import analytics
from supportbot.console import conversations as conv
from supportbot.console.models import AgentRole, AgentSession
from supportbot.crm.models import Interaction, utcnow
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, add_hand_made_set, create_agent
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

SENDER = "conv-a"
ROUTES = [
    ("POST", "/api/console/logout"),
    ("GET", "/api/console/me"),
    ("GET", "/api/console/conversations"),
    ("GET", "/api/console/conversations?intent=track_order&page=2"),
    ("GET", "/api/console/conversations/export?format=csv"),
    ("GET", "/api/console/conversations/export?format=json"),
    ("GET", f"/api/console/conversations/{SENDER}"),
    ("GET", f"/api/console/conversations/{SENDER}/export?format=json"),
    ("GET", f"/api/console/conversations/{SENDER}/export?format=csv"),
    ("GET", f"/api/console/conversations/{SENDER}/review"),
    ("PUT", f"/api/console/conversations/{SENDER}/review"),
    ("POST", f"/api/console/conversations/{SENDER}/tags/vip"),
    ("DELETE", f"/api/console/conversations/{SENDER}/tags/vip"),
    ("POST", f"/api/console/conversations/{SENDER}/training-examples"),
    ("GET", "/api/console/intents"),
    ("GET", "/api/console/analytics"),
    ("GET", "/api/console/analytics?date_from=2026-01-01&date_to=2026-01-31"),
    ("GET", "/api/console/insights"),
    ("GET", "/api/console/privacy"),
    ("POST", "/api/console/customers/1/erasure"),
]
OWN_ORIGIN = {"Origin": "http://testserver"}
# Reviews: one without an agent on record, one Sam writes in the test, one never reviewed.
REVIEWED = ("conv-b", "acb", "a_b")


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def url(crm_url: str) -> str:
    add_hand_made_set(crm_url)
    create_agent(crm_url)
    return crm_url


@pytest.fixture
def anonymous(url: str, rasa: FakeRasa) -> TestClient:
    return client_for(rasa, make_settings(database_url=url))


@pytest.fixture
def console(anonymous: TestClient) -> TestClient:
    response = anonymous.post(
        "/api/console/login", json={"email": "Sam@Support.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return anonymous


@pytest.fixture
def admin(url: str, rasa: FakeRasa) -> TestClient:
    """An admin's session: exports of many conversations are theirs only."""
    create_agent(url, "root@support.test", "Robin Admin", AgentRole.ADMIN)
    client = client_for(rasa, make_settings(database_url=url))
    response = client.post(
        "/api/console/login", json={"email": "root@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return client


def test_every_route_is_listed():
    from supportbot.web.console_api import router

    listed = {(m, p.split("?")[0].replace(SENDER, "{sender_id}")) for m, p in ROUTES}
    listed = {(m, p.replace("/vip", "/{tag}")) for m, p in listed}
    listed = {(m, p.replace("/customers/1/", "/customers/{customer_id}/")) for m, p in listed}
    routes = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert routes - {("POST", "/api/console/login")} == listed


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("cookie", [None, "not-a-session-token"])
def test_every_route_refuses_without_a_session(
    anonymous: TestClient, method: str, path: str, cookie: str | None
):
    if cookie:
        anonymous.cookies.set("sb_agent", cookie)
    response = anonymous.request(method, path, json={"status": "reviewed"}, headers=OWN_ORIGIN)
    assert response.status_code == 401
    assert response.json() == {"error": "sign in to the agent console"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_an_expired_session(
    console: TestClient, url: str, method: str, path: str
):
    with crm_session(url) as crm:
        crm.session.execute(update(AgentSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = console.request(method, path, json={"status": "reviewed"}, headers=OWN_ORIGIN)
    assert response.status_code == 401
    # The stale cookie is cleared and the expired session purged.
    assert "sb_agent=;" in response.headers["set-cookie"]
    with crm_session(url) as crm:
        assert crm.session.scalars(select(AgentSession)).all() == []


def test_login_sets_a_strict_http_only_cookie_and_me_answers(anonymous: TestClient, url: str):
    response = anonymous.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "sb_agent=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Max-Age=28800" in cookie and "Secure" not in cookie
    token = anonymous.cookies["sb_agent"]
    with crm_session(url) as crm:
        stored = crm.session.scalars(select(AgentSession.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0]  # only a hash is kept
    me = anonymous.get("/api/console/me").json()["agent"]
    assert me["email"] == "sam@support.test" and me["name"] == "Sam"


def test_the_cookie_is_secure_over_https(url: str, rasa: FakeRasa):
    web = client_for(rasa, make_settings(database_url=url, agent_session_hours=2))
    web.base_url = web.base_url.copy_with(scheme="https")  # type: ignore[assignment]
    response = web.post(
        "https://testserver/api/console/login",
        json={"email": "sam@support.test", "password": PASSWORD},
    )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]
    assert "Max-Age=7200" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("sam@support.test", "wrong password!"), ("nobody@support.test", PASSWORD)],
)
def test_login_refusals_say_the_same(anonymous: TestClient, email: str, password: str):
    response = anonymous.post("/api/console/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json() == {"error": "wrong email or password"}
    assert "sb_agent" not in anonymous.cookies


def test_login_validates_its_body(anonymous: TestClient):
    response = anonymous.post("/api/console/login", json={"email": "sam@support.test"})
    assert response.status_code == 422 and "password" in response.json()["error"]


def test_logout_ends_the_session(console: TestClient, url: str):
    response = console.post("/api/console/logout", headers=OWN_ORIGIN)
    assert response.status_code == 200
    assert "sb_agent" not in console.cookies
    with crm_session(url) as crm:
        assert crm.session.scalars(select(AgentSession)).all() == []
    assert console.get("/api/console/me").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/console/login"),
        ("POST", "/api/console/logout"),
        ("PUT", f"/api/console/conversations/{SENDER}/review"),
        ("POST", f"/api/console/conversations/{SENDER}/tags/x"),
        ("DELETE", f"/api/console/conversations/{SENDER}/tags/vip"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_changes_are_refused(
    console: TestClient, url: str, method: str, path: str, headers: dict[str, str]
):
    body = {"email": "sam@support.test", "password": PASSWORD, "status": "reviewed"}
    if method == "PUT":
        body = {"status": "reviewed"}
    response = console.request(method, path, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    review = console.get(f"/api/console/conversations/{SENDER}/review").json()
    assert review["status"] == "reviewed" and review["tags"] == ["vip"]  # unchanged


def test_list_with_filters_and_paging(console: TestClient):
    body = console.get(
        "/api/console/conversations", params={"tag": "billing", "page_size": 1, "page": 2}
    ).json()
    assert body["total"] == 2 and body["pages"] == 2 and body["page"] == 2
    assert [i["sender_id"] for i in body["items"]] == ["conv-b"]
    body = console.get(
        "/api/console/conversations",
        params={"q": "quinn", "handoff": "no", "date_from": "2026-01-01", "intent": ""},
    ).json()
    assert [i["sender_id"] for i in body["items"]] == ["conv-a"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "101"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"intent": "a b"}, "intent"),
        ({"sentiment": "angry"}, "sentiment"),
        ({"handoff": "maybe"}, "handoff"),
        ({"csat": "9"}, "csat"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"customer": "not an email"}, "customer"),
        ({"tag": "bad tag"}, "tag"),
        ({"review_status": "done"}, "review_status"),
    ],
)
def test_bad_list_parameters_are_named(admin: TestClient, params: dict[str, str], field: str):
    paths = ["/api/console/conversations"]
    if not field.startswith("page"):
        paths.append("/api/console/conversations/export")
    for path in paths:
        response = admin.get(path, params=params)
        assert response.status_code == 422
        assert response.json()["error"].startswith(f"Invalid request: {field}: ")


def test_review_round_trip_and_validation(console: TestClient):
    path = "/api/console/conversations/acb/review"
    assert console.get(path).json()["status"] == "new"
    response = console.put(path, json={"status": "needs_training_data", "notes": "Add examples."})
    assert response.status_code == 200
    review = console.get(path).json()
    assert review["status"] == "needs_training_data" and review["notes"] == "Add examples."
    assert review["updated_by"]["name"] == "Sam"
    bad = [
        ({"status": "done"}, "status"),
        ({"notes": "x" * 5001}, "notes"),
        ({"stauts": "reviewed"}, "stauts"),
    ]
    for body, field in bad:
        response = console.put(path, json=body)
        assert response.status_code == 422
        assert response.json()["error"].startswith(f"Invalid request: {field}: ")
    assert console.put("/api/console/conversations/unknown/review", json={}).status_code == 404
    response = console.get("/api/console/conversations/bad%20id/review")
    assert response.status_code == 422 and "sender_id" in response.json()["error"]


def test_tags_over_the_api(console: TestClient):
    base = "/api/console/conversations/acb/tags"
    assert console.post(f"{base}/Needs-Work").json() == {"tags": ["needs-work"]}
    assert console.post(f"{base}/second_tag").json() == {"tags": ["needs-work", "second_tag"]}
    assert console.delete(f"{base}/needs-work").json() == {"tags": ["second_tag"]}
    response = console.post(f"{base}/{'x' * 41}")
    assert response.status_code == 422 and response.json()["error"].startswith(
        "Invalid request: tag: "
    )
    assert console.post("/api/console/conversations/unknown/tags/x").status_code == 404
    listed = console.get("/api/console/conversations", params={"tag": "second_tag"}).json()
    assert [i["sender_id"] for i in listed["items"]] == ["acb"]


def test_export_a_filtered_set(console: TestClient, admin: TestClient):
    console.put(
        "/api/console/conversations/conv-d/review",
        json={"notes": '=cmd|"/c calc"!A1, then "quotes"'},
    )
    response = admin.get(
        "/api/console/conversations/export", params={"format": "csv", "tag": "billing"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="conversations-' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [r["sender_id"] for r in rows] == ["conv-d", "conv-b"]
    assert rows[0]["notes"] == '\'=cmd|"/c calc"!A1, then "quotes"'
    data = admin.get("/api/console/conversations/export", params={"handoff": "yes"}).json()
    assert [c["sender_id"] for c in data["conversations"]] == ["conv-b"]
    response = admin.get("/api/console/conversations/export", params={"format": "xml"})
    assert response.status_code == 422 and "format" in response.json()["error"]


def test_one_conversation_with_its_transcript(console: TestClient, rasa: FakeRasa):
    rasa.events["conv-a"] = [
        {"event": "user", "text": "where is my order?", "timestamp": 1.0},
        {"event": "bot", "text": "=Let me look.", "timestamp": 2.0},
    ]
    detail = console.get("/api/console/conversations/conv-a").json()
    assert detail["conversation"]["tags"] == ["vip"]
    assert [m["text"] for m in detail["messages"]] == ["where is my order?", "=Let me look."]
    exported = console.get("/api/console/conversations/conv-a/export").json()
    # The export masks the customer's email as it masks emails in the text (default types).
    customer = {**detail["conversation"]["customer"], "email": "<EMAIL_ADDRESS>"}
    assert exported == {
        "conversation": {**detail["conversation"], "customer": customer},
        "messages": detail["messages"],
    }
    response = console.get("/api/console/conversations/conv-a/export", params={"format": "csv"})
    assert 'filename="conversation-conv-a.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[1:] == [
        ["conv-a", "0", "1.0", "customer", "where is my order?"],
        ["conv-a", "1", "2.0", "bot", "'=Let me look."],
    ]
    assert console.get("/api/console/conversations/unknown").status_code == 404


EMAIL, CARD = "jo.customer@example.org", "4539 1488 0343 6467"  # the card is Luhn-valid


def test_exports_mask_personal_data_in_free_text_and_messages(
    console: TestClient, admin: TestClient, url: str, rasa: FakeRasa
):
    with crm_session(url) as crm:
        crm.session.execute(
            update(Interaction)
            .where(Interaction.sender_id == "conv-a")
            .values(csat_comment=f"refund to card {CARD} please")
        )
    note = f"customer asked to write to {EMAIL}; Jo Smith called"
    console.put("/api/console/conversations/conv-a/review", json={"notes": note})
    rasa.events["conv-a"] = [
        {"event": "user", "text": f"I'm {EMAIL}, card {CARD}", "timestamp": 1.0},
        {"event": "bot", "text": f"Thanks, I'll write to {EMAIL}.", "timestamp": 2.0},
    ]

    full = admin.get("/api/console/conversations/export", params={"format": "json"}).json()
    (record,) = [c for c in full["conversations"] if c["sender_id"] == "conv-a"]
    assert record["csat_comment"] == "refund to card <CREDIT_CARD> please"
    # Names are not among the default types (SUPPORTBOT_REDACT_ENTITIES): agents need them.
    assert record["notes"] == "customer asked to write to <EMAIL_ADDRESS>; Jo Smith called"
    one = console.get("/api/console/conversations/conv-a/export").json()
    assert one["conversation"]["csat_comment"] == record["csat_comment"]
    assert [m["text"] for m in one["messages"]] == [
        "I'm <EMAIL_ADDRESS>, card <CREDIT_CARD>",
        "Thanks, I'll write to <EMAIL_ADDRESS>.",
    ]
    exports = [
        admin.get("/api/console/conversations/export", params={"format": "csv"}).text,
        console.get("/api/console/conversations/conv-a/export", params={"format": "csv"}).text,
        str(full),
        str(one),
    ]
    for text in exports:
        assert EMAIL not in text and CARD not in text and "<CREDIT_CARD>" in text
        assert "zoe.quinn@example.org" not in text  # the customer's own email column


def test_rasa_down_leaves_the_crm_record(console: TestClient, rasa: FakeRasa):
    rasa.down = True
    detail = console.get("/api/console/conversations/conv-a").json()
    assert detail["messages"] is None and detail["conversation"]["sender_id"] == "conv-a"
    assert detail["turns"] is None and detail["decisions"] == []
    response = console.get("/api/console/conversations/conv-a/export", params={"format": "csv"})
    assert response.status_code == 503


def test_a_disabled_agent_is_signed_out(console: TestClient, url: str):
    from supportbot.console.auth import Agents

    with crm_session(url) as crm:
        Agents(crm.session).set_active("sam@support.test", False)
    assert console.get("/api/console/me").status_code == 401
    response = console.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_an_agent_session_reaches_no_customers_conversation_through_the_widget_api(
    url: str, rasa: FakeRasa, console: TestClient
):
    """The console cookie means nothing to the widget API: an agent's browser gets a fresh,
    anonymous conversation of its own, whatever it claims."""
    customer = client_for(rasa, make_settings(database_url=url))
    customer.post(
        "/api/chat/messages", json={"text": "hi"}, headers={"X-Customer-Token": "ada.signed.token"}
    )
    [ada_conversation] = rasa.events

    session = console.get("/api/chat/session").json()["session"]
    history = console.get("/api/chat/messages")
    console.cookies.set("supportbot_conversation", ada_conversation, path="/api/chat")
    said = console.post(
        "/api/chat/messages", json={"text": "show me Ada's orders", "sender": ada_conversation}
    )

    assert not session.startswith(ada_conversation)
    assert history.status_code == 200 and history.json()["messages"] == []
    assert said.status_code == 200
    assert [m["text"] for m in said.json()["messages"]] == [
        "show me Ada's orders",
        "echo: show me Ada's orders",
    ]
    agent_conversations = set(rasa.events) - {ada_conversation}
    assert len(agent_conversations) == 1
    assert [e["text"] for e in rasa.events[ada_conversation] if e["event"] == "user"] == ["hi"]
    # The agent's messages carry no customer identity: none was given, and a session is not one.
    assert rasa.received_metadata == [{"customer_token": "ada.signed.token"}, {}]


# --- the JSON is what the services build ---------------------------------------------------


def test_the_list_review_and_analytics_are_what_the_services_build(console: TestClient, url: str):
    """The response models drop, add and change nothing: each answer is the service's dict."""
    console.put("/api/console/conversations/acb/review", json={"notes": "Call back"})
    page = console.get("/api/console/conversations", params={"page_size": 4}).json()
    reviews = {s: console.get(f"/api/console/conversations/{s}/review").json() for s in REVIEWED}
    figures = console.get("/api/console/analytics", params={"date_from": "2026-01-01"}).json()
    with crm_session(url) as crm:
        listed = conv.list_conversations(crm.session, conv.ConversationFilter(), page_size=4)
        assert page == listed.as_dict()
        assert reviews == {s: conv.review(crm.session, s) for s in REVIEWED}
        period = analytics.period(date(2026, 1, 1), None)
        assert figures == analytics.analytics(crm.session, period)
    assert reviews["acb"]["updated_by"]["name"] == "Sam"
    assert figures["top_intents"] and "from" in figures["period"]


def test_me_answers_what_the_console_reads(console: TestClient):
    me = console.get("/api/console/me").json()
    assert set(me) == {"agent"}
    assert set(me["agent"]) == {"id", "email", "name", "role", "session_expires_at"}
    assert me["agent"]["role"] == "agent"
    assert me["agent"]["session_expires_at"].endswith("+00:00")
