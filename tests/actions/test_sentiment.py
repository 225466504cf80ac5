"""action_analyse_message: every message's sentiment in the tracker and the CRM, and escalation."""

from __future__ import annotations

import pytest

from actions.sentiment import ActionAnalyseMessage
from supportbot.settings import get_settings
from supportbot.store import crm_session
from tests.actions.conftest import get_tracker, slot_events, token_for
from tests.actions.test_orders import ADA, GRACE

FURIOUS = "This is the third time my parcel is late. I am absolutely furious, this is a disgrace!"
FED_UP = "i have asked three times already, this is useless and I am fed up"


@pytest.fixture(autouse=True)
def _needs_the_sentiment_head():
    if not (get_settings().sentiment_dir / "head.json").exists():
        pytest.skip("the sentiment head is not built (make setup builds it)")


async def say(text: str, dispatcher, domain, **tracker_args) -> dict:
    tracker = get_tracker(intent="complaint", text=text, **tracker_args)
    return slot_events(await ActionAnalyseMessage().run(dispatcher, tracker, domain))


def interaction(url: str, sender_id: str = "conversation-1"):
    with crm_session(url) as crm:
        return crm.interactions.start_or_get(sender_id)


async def test_each_message_is_scored_into_the_tracker_and_the_crm(crm_url, dispatcher, domain):
    calm = await say("where is my order 100001?", dispatcher, domain)
    happy = await say("thank you so much, that's really helpful!", dispatcher, domain)

    assert calm["sentiment"]["label"] == "neutral"
    assert happy["sentiment"]["label"] == "positive" and happy["sentiment"]["score"] > 0.3
    assert "escalation_reason" not in calm and "escalation_reason" not in happy
    stored = interaction(crm_url).message_sentiments
    assert [m["label"] for m in stored] == ["neutral", "positive"]
    assert [m["intent"] for m in stored] == ["complaint", "complaint"]
    assert interaction(crm_url).sentiment_trend > 0
    assert dispatcher.messages == []  # it speaks only through slots


async def test_each_message_adds_its_intent_to_the_conversation_once(crm_url, dispatcher, domain):
    await ActionAnalyseMessage().run(dispatcher, get_tracker(intent="greet", text="hi"), domain)
    tracker = get_tracker(intent="track_order", text="where is my parcel?")
    await ActionAnalyseMessage().run(dispatcher, tracker, domain)
    # A button payload has an intent but no sentiment; the empty slot marks it as seen.
    payload = get_tracker(intent="affirm", text="/affirm")
    assert await ActionAnalyseMessage().run(dispatcher, payload, domain) == [
        {"event": "slot", "timestamp": None, "name": "sentiment", "value": None}
    ]
    # Rasa extracts slots again when a form starts: the same message is not counted twice.
    seen = get_tracker(intent="affirm", text="/affirm")
    seen.events.append({"event": "slot", "name": "sentiment", "value": None})
    assert await ActionAnalyseMessage().run(dispatcher, seen, domain) == []

    assert interaction(crm_url).intents == ["greet", "track_order", "affirm"]
    assert len(interaction(crm_url).message_sentiments) == 2


async def test_a_furious_message_escalates_and_logs_why(crm_url, dispatcher, domain):
    slots = await say(FURIOUS, dispatcher, domain)

    assert slots["sentiment"]["label"] == "negative" and slots["sentiment"]["intensity"] <= -0.7
    assert "very negative" in slots["escalation_reason"]
    with crm_session(crm_url) as crm:
        (decision,) = crm.decisions.for_conversation("conversation-1")
    assert decision.kind == "escalate" and "very negative" in decision.reason


async def test_two_negative_messages_escalate_a_standard_customer(crm_url, dispatcher, domain):
    metadata = {"customer_token": token_for(crm_url, GRACE)}  # silver tier
    first = await say(FED_UP, dispatcher, domain, metadata=metadata)
    assert first["sentiment"]["label"] == "negative" and "escalation_reason" not in first
    second = await say("why is this taking so long?", dispatcher, domain)
    assert "2 negative messages" in second["escalation_reason"]


async def test_one_negative_message_escalates_a_platinum_customer(crm_url, dispatcher, domain):
    metadata = {"customer_token": token_for(crm_url, ADA)}
    slots = await say(FED_UP, dispatcher, domain, metadata=metadata)
    assert "platinum-tier customer" in slots["escalation_reason"]
    with crm_session(crm_url) as crm:
        (decision,) = crm.decisions.for_conversation("conversation-1")
        assert decision.customer_id is not None and decision.details["tier"] == "platinum"
        profile = crm.profiles.get(decision.customer_id)
        assert profile is not None and profile.interaction_count == 1


async def test_no_second_escalation_once_with_a_person(crm_url, dispatcher, domain):
    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        interaction.handoff = True
    slots = await say(FURIOUS, dispatcher, domain)
    assert slots["sentiment"]["label"] == "negative" and "escalation_reason" not in slots


async def test_button_payloads_are_not_scored(crm_url, dispatcher, domain):
    assert await say('/inform{"csat_rating": "1"}', dispatcher, domain) == {"sentiment": None}
    assert interaction(crm_url).message_sentiments == []


async def test_without_the_crm_the_message_alone_still_decides(
    tmp_path, monkeypatch, dispatcher, domain
):
    (tmp_path / "crm.db").mkdir()  # a directory where the database file should be
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'crm.db'}")
    get_settings.cache_clear()
    try:
        slots = await say(FURIOUS, dispatcher, domain)
    finally:
        get_settings.cache_clear()
    assert slots["sentiment"]["label"] == "negative" and slots["escalation_reason"]


async def test_mild_disappointment_alone_does_not_call_a_person(crm_url, dispatcher, domain):
    slots = await say("I am disappointed with the delay", dispatcher, domain)
    assert slots["sentiment"]["label"] == "negative" and "escalation_reason" not in slots


async def test_a_message_is_recorded_once_when_rasa_extracts_slots_again(
    crm_url, dispatcher, domain
):
    # Rasa reruns slot extraction for the same message when a form is activated.
    from tests.actions.conftest import with_new_slots

    first = get_tracker(intent="complaint", text=FED_UP)
    slots = slot_events(await ActionAnalyseMessage().run(dispatcher, first, domain))
    again = with_new_slots(first, sentiment=slots["sentiment"])

    assert await ActionAnalyseMessage().run(dispatcher, again, domain) == []
    assert len(interaction(crm_url).message_sentiments) == 1
