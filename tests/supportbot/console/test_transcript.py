"""The console's turns from Rasa tracker events: intent, confidence, entities, sentiment, actions.

`data/tracker_events.json` is the event list of a real conversation with the trained bot (Rasa
3.6.21 and the action server of the test stack, recorded once through the HTTP API's
`GET /conversations/{id}/tracker`): a greeting, an order tracked through the verification form,
and gibberish that the two-stage fallback offered a guess for, which the customer clicked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supportbot.console.transcript import build_turns, customer_messages
from supportbot.rasa_client import messages_from_events

RECORDED = Path(__file__).with_name("data") / "tracker_events.json"


def user(text: str, intent: str, confidence: float, at: float, **extra: Any) -> dict[str, Any]:
    """A `user` event as Rasa 3.6 writes it."""
    entities = extra.pop("entities", [])
    return {
        "event": "user",
        "timestamp": at,
        "metadata": {},
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities,
            "text": text,
            "message_id": f"m{at}",
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        },
        "input_channel": "rest",
        "message_id": f"m{at}",
        **extra,
    }


def action(name: str, at: float) -> dict[str, Any]:
    return {"event": "action", "timestamp": at, "name": name, "policy": None, "confidence": 1.0}


def bot(text: str, at: float, **data: Any) -> dict[str, Any]:
    return {"event": "bot", "timestamp": at, "metadata": {}, "text": text, "data": data}


def sentiment(label: str, score: float, at: float) -> dict[str, Any]:
    value = {"label": label, "score": score, "intensity": score, "model": "minilm-head"}
    return {"event": "slot", "timestamp": at, "name": "sentiment", "value": value}


def conversation() -> list[dict[str, Any]]:
    """A session start, a tracked order with its form and a two-stage fallback."""
    order = {
        "entity": "order_id",
        "start": 15,
        "end": 21,
        "confidence_entity": 0.99,
        "value": "100001",
        "extractor": "DIETEntityExtractor",
    }
    return [
        action("action_session_start", 1.0),
        {"event": "session_started", "timestamp": 1.0},
        action("action_listen", 1.0),
        user("where is order 100001?", "track_order", 0.97, 10.0, entities=[order]),
        {"event": "user_featurization", "timestamp": 10.1, "use_text_for_featurization": False},
        sentiment("negative", -0.31, 10.1),
        {"event": "slot", "timestamp": 10.1, "name": "order_id", "value": "100001"},
        action("order_form", 10.2),
        {"event": "active_loop", "timestamp": 10.2, "name": "order_form"},
        bot("What's the email address on the order?", 10.3),
        action("action_listen", 10.3),
        user("ada@example.com", "inform", 0.88, 20.0),
        action("order_form", 20.1),
        {"event": "active_loop", "timestamp": 20.1, "name": None},
        action("action_track_order", 20.2),
        bot("Order 100001 has shipped with UPS.", 20.3),
        action("action_listen", 20.3),
        user("blorp zzk", "nlu_fallback", 0.31, 30.0),
        sentiment("neutral", 0.0, 30.1),
        action("action_two_stage_fallback", 30.2),
        bot(
            "Do you want to track an order?",
            30.3,
            buttons=[
                {"title": "Yes", "payload": "/track_order"},
                {"title": "No, something else", "payload": "/out_of_scope"},
            ],
        ),
        action("action_listen", 30.3),
        user("/track_order", "track_order", 1.0, 40.0),
        {"event": "rewind", "timestamp": 40.1},
        action("action_listen", 40.1),
        user("/track_order", "track_order", 1.0, 40.1),
        action("order_form", 40.2),
        bot("Which order number?", 40.3),
        action("action_listen", 40.3),
    ]


def test_each_customer_message_with_what_the_bot_made_of_it():
    turns = build_turns(conversation())
    assert [(t["kind"], t["text"]) for t in turns] == [
        ("customer", "where is order 100001?"),
        ("bot", "What's the email address on the order?"),
        ("customer", "ada@example.com"),
        ("bot", "Order 100001 has shipped with UPS."),
        ("customer", "blorp zzk"),
        ("bot", "Do you want to track an order?"),
        ("customer", "Yes"),  # the button the customer clicked, not its payload
        ("bot", "Which order number?"),
    ]
    first = turns[0]
    assert first["intent"] == "track_order" and first["confidence"] == 0.97
    assert first["entities"] == [{"entity": "order_id", "value": "100001", "start": 15, "end": 21}]
    assert first["sentiment"] == {"label": "negative", "score": -0.31}
    assert first["actions"] == ["order_form"]  # action_listen is left out
    assert first["timestamp"] == 10.0
    assert turns[2]["actions"] == ["order_form", "action_track_order"]
    assert turns[2]["sentiment"] is None and turns[2]["entities"] == []
    assert turns[4]["intent"] == "nlu_fallback" and turns[4]["confidence"] == 0.31
    assert turns[4]["actions"] == ["action_two_stage_fallback"]
    # The click: its replay by the fallback is not a message of its own, and what the bot did
    # after the replay is the click's answer.
    assert turns[6]["intent"] == "track_order" and turns[6]["actions"] == ["order_form"]
    buttons = turns[5]["buttons"]
    assert buttons[0] == {"title": "Yes", "payload": "/track_order"}
    assert "intent" not in turns[1] and turns[1]["buttons"] == []


def test_the_turns_show_the_messages_the_customer_saw():
    events = conversation()
    turns = build_turns(events)
    assert [t["text"] for t in turns] == [m.text for m in messages_from_events(events)]


def test_the_crm_supplies_a_sentiment_the_tracker_lacks():
    events = [e for e in conversation() if e["event"] != "slot" or e["name"] != "sentiment"]
    recorded = [
        # An older message of the conversation, before this tracker's events.
        {"at": "1970-01-01T00:00:05+00:00", "intent": "greet", "label": "positive", "score": 0.9},
        {
            "at": "1970-01-01T00:00:10.500000+00:00",
            "intent": "track_order",
            "label": "negative",
            "score": -0.4,
        },
        {
            "at": "1970-01-01T00:00:30.200000+00:00",
            "intent": "nlu_fallback",
            "label": "neutral",
            "score": 0.05,
        },
    ]
    turns = [t for t in build_turns(events, recorded) if t["kind"] == "customer"]
    assert [t["sentiment"] for t in turns] == [
        {"label": "negative", "score": -0.4},
        None,  # nothing recorded between 20 s and 30 s
        {"label": "neutral", "score": 0.05},
        None,  # a button click is never analysed
    ]


def test_agent_messages_and_notices_are_their_own_kinds():
    events = [
        user("I want a human", "contact_human_agent", 0.99, 1.0),
        action("action_handoff", 1.1),
        bot("I'm connecting you with a person.", 1.2),
        {"event": "pause", "timestamp": 1.3},
        bot("Sam from our team has joined the conversation.", 1.9)
        | {"metadata": {"notice": "agent_joined", "agent_name": "Sam"}},
        bot("Hi, Sam here.", 2.0) | {"metadata": {"agent": True, "agent_name": "Sam"}},
        {"event": "resume", "timestamp": 3.0},
        bot("You're back with the assistant.", 3.0) | {"metadata": {"notice": "handback"}},
    ]
    turns = build_turns(events)
    assert [t["kind"] for t in turns] == ["customer", "bot", "notice", "agent", "notice"]
    assert turns[0]["actions"] == ["action_handoff"]
    assert turns[2]["notice"] == "agent_joined" and turns[4]["notice"] == "handback"
    assert turns[3]["text"] == "Hi, Sam here." and turns[3]["agent_name"] == "Sam"
    assert "agent_name" not in turns[1]


def test_customer_messages_are_what_the_customer_typed():
    typed = customer_messages(conversation())
    assert [m.text for m in typed] == ["where is order 100001?", "ada@example.com", "blorp zzk"]
    assert typed[0].entities[0]["entity"] == "order_id"


def test_no_events_no_turns():
    assert build_turns([]) == []


def test_a_recorded_real_conversation():
    events = json.loads(RECORDED.read_text(encoding="utf-8"))
    turns = build_turns(events)
    customer = [
        (t["text"], t["intent"], t["entities"], t["sentiment"], t["actions"])
        for t in turns
        if t["kind"] == "customer"
    ]
    neutral = "neutral"
    assert customer == [
        ("hello", "greet", [], {"label": neutral, "score": 0.0516}, ["action_greet"]),
        (
            "where is my order?",
            "track_order",
            [],
            {"label": neutral, "score": 0.0095},
            ["track_order_form"],
        ),
        (
            "100001",
            "inform",
            [{"entity": "order_id", "value": "100001", "start": 0, "end": 6}],
            {"label": neutral, "score": -0.0361},
            ["track_order_form"],
        ),
        (
            "ada@example.com",
            "inform",
            [{"entity": "email", "value": "ada@example.com", "start": 0, "end": 15}],
            {"label": neutral, "score": 0.0706},
            ["track_order_form", "action_track_order"],
        ),
        (
            "blorp zzk qwv",
            "nlu_fallback",
            [],
            {"label": neutral, "score": -0.0395},
            ["action_two_stage_fallback"],
        ),
        # The "Yes" button of "Do you want to contact customer service?": Rasa logs the click
        # again after reverting it; that replay is not shown, its answer belongs to the click.
        (
            "Yes",
            "contact_customer_service",
            [],
            None,
            ["action_two_stage_fallback", "action_answer_question"],
        ),
    ]
    confidences = [t["confidence"] for t in turns if t["kind"] == "customer"]
    assert confidences[1] == pytest.approx(0.98829, abs=1e-5) and confidences[-1] == 1.0
    bots = [t for t in turns if t["kind"] == "bot"]
    assert len(bots) == 7 and bots[5]["buttons"][0] == {
        "title": "Yes",
        "payload": "/contact_customer_service",
    }
    assert [m.sender for m in messages_from_events(events)].count("customer") == 6
