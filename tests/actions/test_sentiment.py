"""action_analyse_message: every message's sentiment in the tracker and the CRM, and escalation."""

from __future__ import annotations

import pytest

from actions.sentiment import ActionAnalyseMessage, _earlier_turns
from supportbot.escalation import Turn
from supportbot.settings import get_settings
from supportbot.store import crm_session
from tests.actions.conftest import get_tracker, mark_valued_at_risk, slot_events, token_for
from tests.actions.test_orders import ADA, GRACE

FURIOUS = "This is the third time my parcel is late. I am absolutely furious, this is a disgrace!"
FED_UP = "i have asked three times already, this is useless and I am fed up"


@pytest.fixture(autouse=True)
def _needs_the_models():
    settings = get_settings()
    if not (settings.sentiment_dir / "head.json").exists():
        pytest.skip("the sentiment head is not built (make setup builds it)")
    if not (settings.escalation_dir / "model.json").exists():
        pytest.skip("the escalation model is not built (make setup builds it)")


async def say(text: str, dispatcher, domain, **tracker_args) -> dict:
    tracker = get_tracker(intent="complaint", text=text, **tracker_args)
    return slot_events(await ActionAnalyseMessage().run(dispatcher, tracker, domain))


async def converse(texts: list[str], dispatcher, domain, **tracker_args) -> list[dict]:
    """Each message in turn, the tracker carrying the earlier ones as Rasa sends it."""
    events: list[dict] = []
    replies = []
    for text in texts:
        tracker = get_tracker(intent="complaint", text=text, events=list(events), **tracker_args)
        returned = await ActionAnalyseMessage().run(dispatcher, tracker, domain)
        events += [tracker.events[-1], *returned]
        replies.append(slot_events(returned))
    return replies


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
    assert "P(needs a person)" in slots["escalation_reason"]
    with crm_session(crm_url) as crm:
        (decision,) = crm.decisions.for_conversation("conversation-1")
    assert decision.kind == "escalate" and decision.reason.startswith("Handed to a person: ")
    # The agent reads which features drove it; the table keeps numbers, never the words.
    assert decision.details["probability"] >= decision.details["threshold"]
    assert "repeat_contact" in decision.details["contributions"]
    assert "parcel" not in str(decision.details)


async def test_the_angry_customer_of_issue_17_reaches_a_person(crm_url, dispatcher, domain):
    # Written for the issue's check, in neither part of data/escalation.
    first, second = await converse(
        [
            "this is the third time my delivery is late and nobody answers my emails",
            "I am absolutely furious, this is a joke",
        ],
        dispatcher,
        domain,
    )
    reason = first.get("escalation_reason") or second.get("escalation_reason")
    assert reason and "repeat contact" in reason


async def test_bad_news_that_is_not_about_us_does_not_call_a_person(crm_url, dispatcher, domain):
    slots = await say("my dog died, I need to change the address", dispatcher, domain)
    assert "escalation_reason" not in slots


async def test_asking_for_a_person_is_left_to_the_handoff_flow(crm_url, dispatcher, domain):
    tracker = get_tracker(intent="contact_human_agent", text="talk to a human, NOW")
    slots = slot_events(await ActionAnalyseMessage().run(dispatcher, tracker, domain))
    assert "escalation_reason" not in slots and slots["sentiment"]["label"]
    assert len(interaction(crm_url).message_sentiments) == 1
    with crm_session(crm_url) as crm:
        assert crm.decisions.for_conversation("conversation-1") == []


async def test_a_bare_no_to_the_bots_question_is_not_a_complaint(crm_url, dispatcher, domain):
    replies = await converse(["can u do smth w my stuff", "no"], dispatcher, domain)
    assert all("escalation_reason" not in reply for reply in replies)


async def test_a_negative_message_from_a_platinum_customer_is_logged_with_the_tier(
    crm_url, dispatcher, domain
):
    metadata = {"customer_token": token_for(crm_url, ADA)}
    slots = await say(FED_UP, dispatcher, domain, metadata=metadata)
    assert slots["escalation_reason"]
    with crm_session(crm_url) as crm:
        (decision,) = crm.decisions.for_conversation("conversation-1")
        assert decision.customer_id is not None and decision.details["tier"] == "platinum"
        assert decision.details["features"]["high_value"] == 1.0
        profile = crm.profiles.get(decision.customer_id)
        assert profile is not None and profile.interaction_count == 1


async def test_earlier_messages_come_from_this_session_of_the_tracker(crm_url, dispatcher, domain):
    metadata = {"customer_token": token_for(crm_url, GRACE)}  # silver tier
    replies = await converse(
        ["my order is late", "/affirm", "still nothing, why is this taking so long?"],
        dispatcher,
        domain,
        metadata=metadata,
    )
    assert "escalation_reason" not in replies[0] and replies[1] == {"sentiment": None}
    events = [
        {"event": "user", "text": "an earlier session"},
        {"event": "slot", "name": "sentiment", "value": {"score": -0.9, "intensity": -0.9}},
        {"event": "session_started"},
        {"event": "user", "text": "late again"},
        {"event": "slot", "name": "sentiment", "value": {"score": -0.6, "intensity": -0.3}},
        {"event": "user", "text": "/affirm"},
        {"event": "slot", "name": "sentiment", "value": None},
    ]
    tracker = get_tracker(intent="complaint", text="now", events=events)
    assert _earlier_turns(tracker) == [Turn("late again", -0.6, -0.3)]


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


async def test_a_milder_message_is_less_likely_to_need_a_person(crm_url, dispatcher, domain):
    # The decision's probability orders the two; "I am disappointed with the delay" alone is
    # one of the learned decision's known false positives (reports/escalation.md).
    await say("I am disappointed with the delay", dispatcher, domain, sender_id="mild")
    await say(FURIOUS, dispatcher, domain, sender_id="furious")
    with crm_session(crm_url) as crm:
        mild = crm.decisions.for_conversation("mild")
        (furious,) = crm.decisions.for_conversation("furious")
    assert not mild or mild[0].details["probability"] < furious.details["probability"]


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


MILDLY_UNHAPPY = "hmm, that is a bit disappointing really"


async def test_a_valued_customer_at_risk_who_is_unhappy_goes_to_a_person(
    crm_url, dispatcher, domain
):
    metadata = {"customer_token": token_for(crm_url, GRACE)}
    # The conversation alone does not call for a person...
    before = await say(MILDLY_UNHAPPY, dispatcher, domain, metadata=metadata, sender_id="before")
    assert before["sentiment"]["label"] == "negative"
    assert "escalation_reason" not in before
    # ...but the insights say Grace is worth keeping and may leave.
    mark_valued_at_risk(crm_url, GRACE, value_rank=0.95, churn_risk=0.7)
    after = await say(MILDLY_UNHAPPY, dispatcher, domain, metadata=metadata, sender_id="after")
    reason = after["escalation_reason"]
    assert "valued customer (top 5% by spend) at 70% churn risk" in reason
    assert "no purchase for 120 days" in reason
    with crm_session(crm_url) as crm:
        (decision,) = crm.decisions.for_conversation("after")
        assert decision.kind == "escalate" and decision.details["insights"]["churn_risk"] == 0.7


async def test_a_valued_customer_not_at_risk_is_not_handed_over_for_a_mild_complaint(
    crm_url, dispatcher, domain
):
    metadata = {"customer_token": token_for(crm_url, GRACE)}
    mark_valued_at_risk(crm_url, GRACE, value_rank=0.95, churn_risk=0.2)
    slots = await say(MILDLY_UNHAPPY, dispatcher, domain, metadata=metadata)
    assert "escalation_reason" not in slots
