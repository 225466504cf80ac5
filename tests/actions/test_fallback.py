"""The fallback's "Did you mean ...?" names what the customer probably wants, in plain words."""

from __future__ import annotations

from actions.fallback import INTENT_DESCRIPTIONS, ActionAskAffirmation, ActionDefaultFallback
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


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def said(name: str) -> dict:
    return {"event": "bot", "text": f"({name})"}


def customer(intent: str) -> dict:
    return {"event": "user", "text": "...", "parse_data": {"intent": {"name": intent}}}


async def test_the_first_miss_does_not_say_still(dispatcher, domain):
    # "yes" after a knowledge-base answer that asked nothing: the bot's first miss.
    tracker = get_tracker(
        intent="affirm",
        text="yes",
        events=[
            action("action_listen"),
            customer("delete_account"),
            action("action_answer_question"),
            said("article"),
            action("action_listen"),
        ],
    )

    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]
    assert events == [{"event": "rewind", "timestamp": None}]


async def test_a_miss_right_after_a_miss_says_still(dispatcher, domain):
    tracker = get_tracker(
        intent="nlu_fallback",
        events=[
            action("action_listen"),
            customer("affirm"),
            action("action_default_fallback"),
            said("utter_default"),
            {"event": "rewind"},
            action("action_listen"),
        ],
    )

    await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default_again"]


async def test_the_two_stage_fallback_giving_up_says_still(dispatcher, domain):
    # Did you mean ...? -> "No, something else" -> rephrase -> still not understood.
    tracker = get_tracker(
        intent="out_of_scope",
        events=[
            action("action_listen"),
            customer("nlu_fallback"),
            action("action_two_stage_fallback"),
            {"event": "active_loop", "name": "x"},
            said("did you mean"),
            action("action_listen"),
            customer("out_of_scope"),
        ],
    )

    await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default_again"]


async def test_a_miss_after_a_handled_request_is_a_first_miss_again(dispatcher, domain):
    tracker = get_tracker(
        events=[
            action("action_default_fallback"),
            said("utter_default"),
            {"event": "rewind"},
            action("action_listen"),
            customer("track_order"),
            action("track_order_form"),
            action("action_listen"),
        ],
    )

    await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


def test_only_a_repeated_miss_says_still(domain):
    assert "still" not in domain["responses"]["utter_default"][0]["text"]
    assert "still" in domain["responses"]["utter_default_again"][0]["text"]


def guessed(text: str, *ranking: str) -> dict:
    """A message below the fallback threshold, with NLU's ranking."""
    parse = {"intent": {"name": "nlu_fallback"}, "entities": [], **ranked(*ranking)}
    return {"event": "user", "text": text, "parse_data": parse}


def typed_answer_to_the_guess(intent: str) -> list[dict]:
    """ "Do you want to place an order?" answered by typing: the two-stage fallback ends on it
    and Rasa replays it (the replay is the tracker's latest message)."""
    return [
        action("action_listen"),
        guessed("can u do smth w my stuff", "nlu_fallback", "place_order", "out_of_scope"),
        action("action_two_stage_fallback"),
        {"event": "active_loop", "name": "action_two_stage_fallback"},
        said("Do you want to place an order?"),
        action("action_listen"),
        customer(intent),
        action("action_two_stage_fallback"),
        {"event": "active_loop", "name": None},
        {"event": "rewind"},
        action("action_listen"),
    ]


async def test_a_typed_yes_to_the_guess_goes_on_as_the_yes_button(dispatcher, domain):
    tracker = get_tracker(intent="affirm", text="yes", events=typed_answer_to_the_guess("affirm"))

    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert dispatcher.messages == []
    assert [event["event"] for event in events] == ["rewind", "action", "user"]
    assert events[1]["name"] == "action_listen"
    assert events[2]["text"] == "/place_order"
    assert events[2]["parse_data"]["intent"] == {"name": "place_order", "confidence": 1.0}


async def test_a_typed_no_to_the_guess_asks_for_the_request_again(dispatcher, domain):
    tracker = get_tracker(intent="deny", text="no", events=typed_answer_to_the_guess("deny"))

    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_ok_rephrase"]
    assert [event["event"] for event in events] == ["rewind"]


async def test_a_yes_to_a_request_to_rephrase_is_a_miss(dispatcher, domain):
    # Nothing was guessed ("Could you say it another way?"), so a yes answers nothing.
    events = typed_answer_to_the_guess("affirm")
    events[1] = guessed("hmm", "nlu_fallback", "out_of_scope", "affirm")
    tracker = get_tracker(intent="affirm", text="yes", events=events)

    await ActionDefaultFallback().run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default_again"]
