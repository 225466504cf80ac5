"""The fallbacks in the customer's words.

The first stage of the two-stage fallback asks "Did you mean ...?": Rasa's default asks "Did you
mean 'track_order'?"; this names the intent the way a customer would. The last resort
(action_default_fallback) offers a person, and says "still" only when the bot has already failed
to understand the customer just before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, UserUtteranceReverted, UserUttered

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

INTENT_DESCRIPTIONS = {
    "cancel_order": "cancel an order",
    "change_order": "change the items in an order",
    "change_shipping_address": "change the delivery address of an order",
    "check_cancellation_fee": "find out whether cancelling costs anything",
    "check_invoice": "check an invoice",
    "check_payment_methods": "know which payment methods we accept",
    "check_refund_policy": "know our refund policy",
    "complaint": "make a complaint",
    "contact_customer_service": "contact customer service",
    "contact_human_agent": "talk to a person",
    "create_account": "create an account",
    "delete_account": "close your account",
    "delivery_options": "know the delivery options",
    "delivery_period": "know how long delivery takes",
    "edit_account": "change your account details",
    "erase_personal_data": "have your personal data erased",
    "get_invoice": "get an invoice",
    "get_refund": "get a refund",
    "newsletter_subscription": "manage the newsletter",
    "ask_recommendation": "get product suggestions",
    "payment_issue": "report a problem with a payment",
    "place_order": "place an order",
    "recover_password": "reset your password",
    "registration_problems": "get help signing up",
    "review": "leave a review",
    "set_up_shipping_address": "save a delivery address",
    "switch_account": "switch accounts",
    "track_order": "track an order",
    "track_refund": "check the status of a refund",
}
# Never offered as a guess: they carry no request of their own.
_NOT_A_GUESS = {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny"}


def best_guess(parse_data: dict[str, Any]) -> str | None:
    """The most likely intent we can describe, from the NLU ranking."""
    ranking = parse_data.get("intent_ranking") or [parse_data.get("intent") or {}]
    for candidate in ranking:
        name = candidate.get("name")
        if name in INTENT_DESCRIPTIONS and name not in _NOT_A_GUESS:
            return str(name)
    return None


class ActionAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        guess = best_guess(tracker.latest_message or {})
        if guess is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Do you want to {INTENT_DESCRIPTIONS[guess]}?",
            buttons=[
                {"title": "Yes", "payload": f"/{guess}"},
                {"title": "No, something else", "payload": "/out_of_scope"},
            ],
        )
        return []


# Actions that mean the bot did not understand the customer's previous message(s).
FALLBACK_ACTIONS = {"action_default_fallback", "action_two_stage_fallback"}
# Actions that run on every turn and say nothing about whether the bot understood.
_EVERY_TURN = {"action_listen", "action_extract_slots", "action_analyse_message"}


def missed_just_before(events: list[dict[str, Any]]) -> bool:
    """Whether a fallback ran since the bot last acted on something it understood: the
    current miss is then a repeated one."""
    for event in reversed(events):
        if event.get("event") != "action":
            continue
        name = event.get("name")
        if name in FALLBACK_ACTIONS:
            return True
        if name not in _EVERY_TURN:
            return False  # the bot last did something it understood
    return False


def answered_guess(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The message whose guess ("Do you want to ...?") the customer just answered by typing
    yes or no instead of pressing a button, or None.

    Rasa's two-stage fallback only knows the buttons: it ends on a typed "yes" or "no" and
    replays it as a new message, which nothing handles. The events then read, backwards: the
    replayed answer, the fallback's end, the typed answer, and the message it was about."""
    answers = 0
    two_stage = False
    for event in reversed(events):
        if event.get("event") == "action" and event.get("name") == "action_two_stage_fallback":
            two_stage = True
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == "nlu_fallback":
            # Answered once (and replayed once), right after the guess was offered.
            return event if two_stage and answers == 2 else None
        if intent not in ("affirm", "deny"):
            return None
        answers += 1
    return None


class ActionDefaultFallback(Action):
    """Rasa's action_default_fallback with the first miss worded as a first one, and a typed
    answer to the two-stage fallback's guess taken as the button would be."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        unclear = answered_guess(tracker.events) if intent in ("affirm", "deny") else None
        guess = best_guess(unclear.get("parse_data") or {}) if unclear else None
        if guess and unclear is not None and intent == "affirm":
            # As the "Yes" button does: the guessed request, as if the customer had sent it.
            parse_data = {
                "intent": {"name": guess, "confidence": 1.0},
                "entities": (unclear.get("parse_data") or {}).get("entities") or [],
                "text": f"/{guess}",
            }
            return [
                UserUtteranceReverted(),
                ActionExecuted("action_listen"),
                UserUttered(f"/{guess}", parse_data),
            ]
        if guess:  # a typed "no": as the "No, something else" button, a new start
            dispatcher.utter_message(response="utter_ok_rephrase")
            return [UserUtteranceReverted()]
        repeated = missed_just_before(tracker.events)
        dispatcher.utter_message(response="utter_default_again" if repeated else "utter_default")
        # As Rasa's own: the message it could not handle must not steer the next prediction.
        return [UserUtteranceReverted()]
