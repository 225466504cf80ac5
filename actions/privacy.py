"""The customer's own request, in the chat, to have their personal data erased.

The bot says what erasure does and asks; only an explicit yes (the affirm intent, typed or the
button) erases, anything else erases nothing. An anonymous customer verifies first, as for an
order, and can say no at any step. Whose data is erased comes from the CRM's binding of this
conversation (`run_for_customer`), never from slots or text. The erasure deletes this
conversation too, so the action ends it with a restart, and the tracker store saves nothing of
the turn (common/erasure.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import Restarted, SlotSet
from sqlalchemy.exc import SQLAlchemyError

from actions.crm import run_for_customer, tell_customer_if_crm_unavailable
from actions.verification import VerifiedCustomerForm, not_verified_reply
from common.erasure import ERASURE_ACTION
from supportbot.privacy.erasure import ErasureError, ErasureReport, erase_customer
from supportbot.settings import SettingsError, get_settings

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

CONFIRMED = "erase_confirmed"
ERASURE_FAILED = (
    "Sorry, I couldn't finish erasing your data just now. Please ask me again in a few "
    "minutes, or a person from our team can do it for you."
)
TALK_TO_A_PERSON = [{"title": "Talk to a person", "payload": "/contact_human_agent"}]
NOTHING_ERASED = (
    "Okay, I haven't erased anything: your data stays as it was. "
    "Is there anything else I can help with?"
)


def latest_intent(tracker: Tracker) -> str | None:
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent if isinstance(intent, str) else None


class ValidateEraseDataForm(VerifiedCustomerForm):
    """A verified customer is asked to confirm; an anonymous one verifies with an order first."""

    form = "erase_data_form"
    about_an_order = False

    def slots_for_anonymous(self, domain_slots: list[str], tracker: Tracker) -> list[str]:
        if tracker.get_slot(CONFIRMED) is False:
            return [CONFIRMED]  # said no while verifying: answered, the form ends
        return super().slots_for_anonymous(domain_slots, tracker)

    async def extract_erase_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intent = latest_intent(tracker)
        requested = tracker.get_slot("requested_slot")
        if requested not in ("order_id", "email", CONFIRMED) or intent == "contact_human_agent":
            return {}  # for a person, the form gives way and the rule for a person hands off
        if requested != CONFIRMED:
            # Verifying: a no ends the form, anything else ("yes", a question) keeps it asking
            # (an order number or email given is the verification's to check).
            return {CONFIRMED: False if intent == "deny" else None}
        if intent == "erase_personal_data":
            return {CONFIRMED: None}  # asked again instead of answering: the question again
        return {CONFIRMED: intent == "affirm"}

    async def validate_erase_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {CONFIRMED: slot_value if isinstance(slot_value, bool) else None}


class ActionErasePersonalData(Action):
    """Erases the verified customer's personal data once they said yes, and ends the
    conversation; says that nothing was erased otherwise."""

    def name(self) -> str:
        return ERASURE_ACTION

    @tell_customer_if_crm_unavailable(returning=[SlotSet(CONFIRMED, None)])
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        answer = tracker.get_slot(CONFIRMED)
        customer_id = await run_for_customer(tracker, lambda _crm, customer_id: customer_id)
        if customer_id is None and answer is not False:
            return [*not_verified_reply(dispatcher), SlotSet(CONFIRMED, None)]
        if customer_id is None or answer is not True:
            dispatcher.utter_message(text=NOTHING_ERASED)
            return [SlotSet(CONFIRMED, None), SlotSet("email", None)]
        try:
            report = await asyncio.to_thread(
                erase_customer,
                get_settings(),
                customer_id,
                actor="customer",
                reason="customer request in chat",
                mask_reason=False,  # the code's own words: no PII model to load in the turn
            )
        except (ErasureError, SettingsError, SQLAlchemyError, OSError) as error:
            # Asking again finishes it: what an erasure started is in its log, and it can rerun.
            logger.error("A customer's erasure in chat failed: %s", type(error).__name__)
            dispatcher.utter_message(text=ERASURE_FAILED, buttons=TALK_TO_A_PERSON)
            return [SlotSet(CONFIRMED, None)]
        dispatcher.utter_message(text=erasure_done(report))
        # The conversation is gone: the next message starts a new, anonymous one.
        return [Restarted()]


def erasure_done(report: ErasureReport) -> str:
    """What the customer is told once their data is erased."""
    count = len(report.conversations)
    conversations = "this conversation" if count <= 1 else f"all {count} of your conversations"
    return (
        f"Done: your personal data is erased. I deleted {conversations} with us and removed "
        "your name, contact details and addresses. Your orders and invoices are kept without "
        "them, because the law requires us to keep them. This conversation is closed now; "
        "if you write again, you start a new one. Take care!"
    )
