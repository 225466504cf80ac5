"""The fallback's "Did you mean ...?" names what the customer probably wants, in plain words."""

from __future__ import annotations

from actions.fallback import INTENT_DESCRIPTIONS, ActionAskAffirmation
from tests.actions.conftest import get_tracker


def ranked(*names: str) -> dict:
    return {"intent_ranking": [{"name": n, "confidence": 0.3} for n in names]}


async def test_the_best_describable_guess_is_offered_with_buttons(dispatcher, domain):
    tracker = get_tracker(intent="nlu_fallback")
    tracker.latest_message.update(ranked("nlu_fallback", "inform", "track_refund", "get_refund"))

    await ActionAskAffirmation().run(dispatcher, tracker, domain)

    [message] = dispatcher.messages
    assert "check the status of a refund" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/track_refund", "/out_of_scope"]


async def test_nothing_to_guess_asks_to_rephrase(dispatcher, domain):
    tracker = get_tracker(intent="nlu_fallback")
    tracker.latest_message.update(ranked("nlu_fallback", "out_of_scope", "affirm"))

    await ActionAskAffirmation().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]


def test_every_support_intent_in_the_domain_has_a_description(domain):
    conversational = {"greet", "goodbye", "affirm", "deny", "thank", "bot_challenge"}
    conversational |= {"out_of_scope", "inform"}
    assert set(domain["intents"]) - conversational == set(INTENT_DESCRIPTIONS)
