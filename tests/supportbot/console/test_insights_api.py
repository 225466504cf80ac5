"""The transcript view's insights over the API: turns, decisions, the customer panel, intents
and marking training examples (a fake Rasa serves the tracker; the CRM is a real seeded one)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import insert

from supportbot.console import conversations as conv
from supportbot.console.profile_panel import profile_panel
from supportbot.console.training_data import domain_intents
from supportbot.console.transcript import build_turns, decisions, recorded_sentiments
from supportbot.crm import Interaction, Ticket, TicketKind
from supportbot.insights.models import ComplaintThemeRow, InsightRun, SegmentSummary
from supportbot.rasa_client import messages_from_events
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, add_hand_made_set, create_agent
from tests.supportbot.console.test_transcript import action, bot, conversation, sentiment, user
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

OWN_ORIGIN = {"Origin": "http://testserver"}
ADA_NOW, ADA_BEFORE = "ada-now", "ada-before"


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def review_file(tmp_path: Path) -> Path:
    return tmp_path / "review" / "nlu_review.yml"


@pytest.fixture
def ada(crm_url: str) -> int:
    """Ada's conversation now (with decisions and a ticket), and one from last week."""
    add_hand_made_set(crm_url)
    create_agent(crm_url)
    now = datetime.now(UTC)
    with crm_session(crm_url) as crm:
        customer = crm.customers.find_by_email("ada@example.com")
        assert customer is not None
        rows = [
            {
                "sender_id": ADA_BEFORE,
                "customer_id": customer.id,
                "started_at": now - timedelta(days=7),
                "intents": ["get_refund"],
                "outcome": "resolved",
                "message_sentiments": [],
                "sentiment_average": 0.4,
                "csat_rating": 4,
                "satisfaction_estimate": 4.2,
            },
            {
                "sender_id": ADA_NOW,
                "customer_id": customer.id,
                "started_at": now,
                "intents": ["track_order", "inform"],
                "message_sentiments": [],
                "sentiment_average": -0.2,
            },
        ]
        crm.session.execute(insert(Interaction), rows)
        crm.tickets.open(
            kind=TicketKind.COMPLAINT,
            subject="Parcel late",
            description="Where is it?",
            customer_id=customer.id,
            sender_id=ADA_BEFORE,
            priority="high",
        )
        crm.decisions.log(
            ADA_NOW,
            "greet",
            "Greeted by name: signed in",
            customer_id=customer.id,
            details={"tier": "gold"},
        )
        crm.decisions.log(ADA_NOW, "escalate", "Handed to a person: angry.", customer_id=None)
        return customer.id


@pytest.fixture
def console(crm_url: str, ada: int, rasa: FakeRasa, review_file: Path) -> TestClient:
    web = client_for(rasa, make_settings(database_url=crm_url, review_file=review_file))
    response = web.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    rasa.events[ADA_NOW] = conversation()
    rasa.events["conv-c"] = [
        user("hi there", "greet", 0.99, 5.0),
        sentiment("positive", 0.6, 5.1),
        action("utter_greet", 5.2),
        bot("Hi! How can I help?", 5.3),
        action("action_listen", 5.3),
    ]
    return web


# --- the transcript view -----------------------------------------------------------------


def test_the_detail_has_turns_decisions_and_the_customer_panel(console: TestClient, ada: int):
    detail = console.get(f"/api/console/conversations/{ADA_NOW}").json()
    assert detail["conversation"]["customer"]["id"] == ada
    assert len(detail["messages"]) == len(detail["turns"]) == 8
    first = detail["turns"][0]
    assert first == {
        "kind": "customer",
        "text": "where is order 100001?",
        "timestamp": 10.0,
        "intent": "track_order",
        "confidence": 0.97,
        "entities": [{"entity": "order_id", "value": "100001", "start": 15, "end": 21}],
        "sentiment": {"label": "negative", "score": -0.31},
        "actions": ["order_form"],
    }
    assert detail["turns"][1]["kind"] == "bot"
    assert [(d["kind"], d["reason"]) for d in detail["decisions"]] == [
        ("greet", "Greeted by name: signed in"),
        ("escalate", "Handed to a person: angry."),
    ]
    assert detail["decisions"][0]["details"] == {"tier": "gold"}
    assert detail["decisions"][0]["at"].endswith("+00:00")

    profile = detail["profile"]
    assert profile["customer"]["name"] == "Ada Lovelace"
    assert profile["customer"]["email"] == "ada@example.com"
    assert profile["customer"]["tier"] in {"bronze", "silver", "gold", "platinum"}
    assert float(profile["customer"]["value"]) >= 0 and profile["customer"]["since"]
    # Newest first: 100004 today, 100001 three days ago, 100003 thirty days ago.
    assert [o["reference"] for o in profile["orders"]] == ["100004", "100001", "100003"]
    assert profile["orders"][1]["status"] == "shipped"
    assert [t["subject"] for t in profile["tickets"]] == ["Parcel late"]
    assert profile["tickets"][0]["reference"].startswith("T-")
    assert profile["tickets"][0]["priority"] == "high"
    # This conversation is not one of the previous ones.
    assert [c["sender_id"] for c in profile["previous_conversations"]] == [ADA_BEFORE]
    assert profile["previous_conversations"][0] == {
        "sender_id": ADA_BEFORE,
        "started_at": profile["previous_conversations"][0]["started_at"],
        "intents": ["get_refund"],
        "outcome": "resolved",
        "sentiment_average": 0.4,
        "csat_rating": 4,
    }
    assert profile["insights"] is None  # no insights run yet
    assert profile["stats"] == {
        "interaction_count": 2,
        "satisfaction_average": 4.2,
        "csat_average": 4.0,
        "handoff_count": 0,
        "sentiment_history": [0.4, -0.2],
    }


def test_a_guest_conversation_has_no_panel(console: TestClient):
    detail = console.get("/api/console/conversations/conv-c").json()
    assert detail["profile"] is None and detail["decisions"] == []
    assert detail["turns"][0]["intent"] == "greet"
    assert detail["turns"][0]["actions"] == ["utter_greet"]


def test_rasa_down_leaves_the_crm_parts(console: TestClient, rasa: FakeRasa):
    rasa.down = True
    detail = console.get(f"/api/console/conversations/{ADA_NOW}").json()
    assert detail["turns"] is None and detail["messages"] is None
    assert len(detail["decisions"]) == 2 and detail["profile"]["customer"]["name"]


# --- intents and training examples -------------------------------------------------------


def test_the_intents_of_the_domain(console: TestClient):
    listed = console.get("/api/console/intents").json()["intents"]
    assert listed == sorted(listed) == list(domain_intents())
    assert {"track_order", "greet", "out_of_scope"} <= set(listed)
    assert "nlu_fallback" not in listed


def mark(console: TestClient, text: str, intent: str, sender: str = ADA_NOW, **kw):
    return console.post(
        f"/api/console/conversations/{sender}/training-examples",
        json={"text": text, "intent": intent},
        headers=OWN_ORIGIN,
        **kw,
    )


def examples_in(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (block["intent"], line[2:])
        for block in data["nlu"]
        for line in block["examples"].splitlines()
    ]


def test_marking_a_message_writes_the_review_file(console: TestClient, review_file: Path):
    response = mark(console, "blorp zzk", "track_order")
    assert response.status_code == 201
    assert response.json() == {"file": str(review_file), "examples": 1, "added": True}
    data = yaml.safe_load(review_file.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    block = data["nlu"][0]
    assert block["intent"] == "track_order" and block["examples"] == "- blorp zzk\n"
    assert block["metadata"]["agent"] == "Sam" and block["metadata"]["conversation"] == ADA_NOW
    assert block["metadata"]["source"] == "agent-console"
    # The entities NLU found are kept as Rasa markup.
    response = mark(console, "where is order 100001?", "get_refund")
    assert response.status_code == 201 and response.json()["examples"] == 2
    assert examples_in(review_file) == [
        ("track_order", "blorp zzk"),
        ("get_refund", "where is order [100001](order_id)?"),
    ]


def test_a_duplicate_is_not_written_twice(console: TestClient, review_file: Path):
    assert mark(console, "blorp zzk", "track_order").status_code == 201
    before = review_file.read_text(encoding="utf-8")
    again = mark(console, "  blorp   zzk ", "track_order")
    assert again.status_code == 200
    assert again.json() == {"file": str(review_file), "examples": 1, "added": False}
    assert review_file.read_text(encoding="utf-8") == before
    # Marked with another intent, the later correction replaces the earlier one.
    assert mark(console, "blorp zzk", "complaint").json()["examples"] == 1
    assert examples_in(review_file) == [("complaint", "blorp zzk")]


@pytest.mark.parametrize(
    ("text", "intent", "message"),
    [
        ("blorp zzk", "no_such_intent", "intent: 'no_such_intent' is not an intent"),
        ("blorp zzk", "nlu_fallback", "intent: 'nlu_fallback' is not an intent"),
        ("something Ada never said", "track_order", "text: not a message the customer typed"),
        ("What's the email address on the order?", "inform", "text: not a message the customer"),
        # A quick-reply click is a payload, not words: not an example.
        ("/track_order", "track_order", "text: not a message the customer typed"),
        ("Yes", "affirm", "text: not a message the customer typed"),
    ],
)
def test_bad_examples_are_refused(
    console: TestClient, review_file: Path, text: str, intent: str, message: str
):
    response = mark(console, text, intent)
    assert response.status_code == 422
    assert response.json()["error"].startswith(f"Invalid request: {message}")
    assert not review_file.exists()


def test_a_message_of_another_conversation_is_refused(console: TestClient, review_file: Path):
    response = mark(console, "hi there", "greet", sender=ADA_NOW)
    assert response.status_code == 422
    assert mark(console, "hi there", "greet", sender="conv-c").status_code == 201


def test_unknown_conversations_and_rasa_down(
    console: TestClient, rasa: FakeRasa, review_file: Path
):
    assert mark(console, "blorp zzk", "track_order", sender="unknown").status_code == 404
    rasa.down = True
    response = mark(console, "blorp zzk", "track_order")
    assert response.status_code == 503 and "transcript" in response.json()["error"]
    assert not review_file.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_marking_refuses_cross_site_requests(
    console: TestClient, review_file: Path, headers: dict[str, str]
):
    response = console.post(
        f"/api/console/conversations/{ADA_NOW}/training-examples",
        json={"text": "blorp zzk", "intent": "track_order"},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert not review_file.exists()


# Sixteen requests, eight at a time: each needs a connection of its own.
@pytest.mark.committed
def test_concurrent_marks_are_all_kept(console: TestClient, rasa: FakeRasa, review_file: Path):
    texts = [f"message number {n}" for n in range(16)]
    rasa.events[ADA_NOW] = [user(t, "inform", 0.5, float(n)) for n, t in enumerate(texts)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda t: mark(console, t, "track_order"), texts))
    assert [r.status_code for r in responses] == [201] * 16
    assert sorted(examples_in(review_file)) == sorted(("track_order", t) for t in texts)


# --- the JSON is what the services build -------------------------------------------------


def test_the_detail_is_what_the_services_build(console: TestClient, rasa: FakeRasa, crm_url: str):
    """The response model drops, adds and changes nothing; keys a turn or an entity does not
    have (a notice's name, an entity's role) stay out of the JSON rather than turning null."""
    city = {"entity": "city", "value": "York", "start": 14, "end": 18, "role": "destination"}
    events = [
        *conversation(),
        user("from Leeds to York", "inform", 0.9, 50.0, entities=[city]),
        {
            "event": "bot",
            "timestamp": 51.0,
            "text": "Sam from our team has joined the conversation.",
            "metadata": {"notice": "agent_joined", "agent_name": "Sam"},
        },
        {
            "event": "bot",
            "timestamp": 52.0,
            "text": "Hi, Sam here.",
            "metadata": {"agent": True, "agent_name": "Sam"},
        },
    ]
    rasa.events[ADA_NOW] = events

    detail = console.get(f"/api/console/conversations/{ADA_NOW}").json()

    with crm_session(crm_url) as crm:
        assert detail == {
            "conversation": conv.conversation(crm.session, ADA_NOW),
            "messages": [message.as_dict() for message in messages_from_events(events)],
            "turns": build_turns(events, recorded_sentiments(crm.session, ADA_NOW)),
            "decisions": decisions(crm.session, ADA_NOW),
            "profile": profile_panel(crm.session, ADA_NOW),
        }
    by_kind = {turn["kind"]: turn for turn in detail["turns"]}
    assert set(by_kind) == {"customer", "bot", "notice", "agent"}
    assert "notice" not in by_kind["bot"] and "agent_name" not in by_kind["notice"]
    assert detail["turns"][-3]["entities"][0]["role"] == "destination"
    assert "role" not in detail["turns"][0]["entities"][0]


def test_the_insights_overview_shows_segments_their_trend_and_themes(
    console: TestClient, crm_url: str
):
    empty = console.get("/api/console/insights").json()
    assert empty == {"run": None, "segments": [], "trend": [], "themes": []}
    with crm_session(crm_url) as crm:
        session = crm.session
        ticket = Ticket(kind=TicketKind.COMPLAINT, subject="Late", description="<b>late</b> again")
        session.add(ticket)
        for sizes in (
            {"loyal high spenders": 3, "lapsed customers": 5},
            {"loyal high spenders": 4, "lapsed customers": 4},
        ):
            run = InsightRun(status="finished", versions={"segments": "segments-1"}, summary={})
            session.add(run)
            session.flush()
            for label, size in sizes.items():
                session.add(
                    SegmentSummary(
                        run_id=run.id, label=label, size=size, centroid={"orders_last_year": 2.0}
                    )
                )
        session.add(
            ComplaintThemeRow(
                run_id=run.id,
                label="late delivery",
                terms=["late delivery"],
                volume=7,
                change=2.5,
                weekly_counts=[["2026-10-26", 7]],
                examples=[{"source": "ticket", "id": ticket.id}],
            )
        )
    overview = console.get("/api/console/insights").json()
    assert overview["run"]["id"] == run.id
    assert [(s["label"], s["size"]) for s in overview["segments"]] == [
        ("loyal high spenders", 4),
        ("lapsed customers", 4),
    ]
    assert [point["sizes"]["lapsed customers"] for point in overview["trend"]] == [5, 4]
    (theme,) = overview["themes"]
    # The example is read from the ticket as it is now (the browser escapes it).
    assert theme["label"] == "late delivery" and theme["examples"] == ["<b>late</b> again"]
