"""Forms that need a verified customer: they ask for an order number and the email on it.

The pair is checked against the CRM; a match binds the conversation to that customer in the CRM.
Once bound, an order number is only accepted if it belongs to that customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.crm import (
    CRMUnavailable,
    customer_id_for,
    first_name,
    record_conversation,
    run_in_crm,
)
from supportbot.crm import Order
from supportbot.crm.customer_input import (
    find_email,
    find_order_number,
    parse_email,
    parse_order_number,
)
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

MAX_VERIFICATION_ATTEMPTS = 3


class VerifiedCustomerForm(FormValidationAction):
    """Base for forms about one of the customer's orders.

    Subclasses set `form` and may override `check_order` to veto an owned order.
    """

    form = ""

    def name(self) -> str:
        return f"validate_{self.form}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        slots = list(domain_slots)
        if "order_id" not in slots:
            slots.insert(0, "order_id")
        try:
            verified = await customer_id_for(tracker) is not None
        except CRMUnavailable:
            verified = False
        if not verified:
            slots.insert(slots.index("order_id") + 1, "email")
        return slots

    # Free-text fallbacks for when NLU misses the entity in a bare answer.
    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "order_id" or tracker.get_slot("order_id"):
            return {}
        order_number = find_order_number((tracker.latest_message or {}).get("text") or "")
        return {"order_id": order_number} if order_number else {}

    async def extract_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "email" or tracker.get_slot("email"):
            return {}
        email = find_email((tracker.latest_message or {}).get("text") or "")
        return {"email": email} if email else {}

    async def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_number = parse_order_number(slot_value)
        if order_number is None:
            dispatcher.utter_message(
                text="That doesn't look like one of our order numbers: they have 6 digits, "
                "like 100123."
            )
            return {"order_id": None}
        try:
            customer_id = await customer_id_for(tracker)
            if customer_id is None:
                # Anonymous: the email question that follows decides.
                return {"order_id": order_number}
            problem = await run_in_crm(
                lambda crm: self._problem_with(crm, customer_id, order_number)
            )
        except CRMUnavailable:
            dispatcher.utter_message(response="utter_crm_unavailable")
            return {"order_id": None}
        if problem:
            dispatcher.utter_message(text=problem)
            return {"order_id": None}
        return {"order_id": order_number}

    def _problem_with(self, crm: CRM, customer_id: int, order_number: str) -> str | None:
        order = crm.orders.find_for_customer(customer_id, order_number)
        if order is None:
            return (
                f"I couldn't find order {order_number} on your account. Could you check the number?"
            )
        return self.check_order(order)

    def check_order(self, order: Order) -> str | None:
        """A reason to refuse this (owned) order, or None to accept it."""
        return None

    async def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        email = parse_email(slot_value)
        if email is None:
            dispatcher.utter_message(
                text="That doesn't look like an email address. Please type it like "
                "name@example.com."
            )
            return {"email": None}
        order_number = parse_order_number(tracker.get_slot("order_id"))
        if order_number is None:
            return {"email": None}
        sender_id = tracker.sender_id

        def verify(crm: CRM) -> str | None:
            customer = crm.orders.verify_owner(order_number, email)
            if customer is None:
                return None
            crm.interactions.bind_customer(sender_id, customer.id, method="order_email")
            return customer.name

        try:
            name = await run_in_crm(verify)
        except CRMUnavailable:
            dispatcher.utter_message(response="utter_crm_unavailable")
            return {"email": None}
        if name is not None:
            dispatcher.utter_message(text=f"Thanks, {first_name(name)}, you're verified.")
            return {"email": email, "customer_name": name, "verification_attempts": 0}
        attempts = int(tracker.get_slot("verification_attempts") or 0) + 1
        if attempts >= MAX_VERIFICATION_ATTEMPTS:
            # Let the form finish: its submit action sees no verified customer and offers a human.
            return {"email": email, "verification_attempts": attempts}
        dispatcher.utter_message(
            text="Sorry, that order number and email don't match our records. Let's try again."
        )
        return {"order_id": None, "email": None, "verification_attempts": attempts}


def not_verified_reply(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """What a submit action says and does when the customer could not be verified."""
    dispatcher.utter_message(
        text="I couldn't verify that the order is yours, so for your security I can't share "
        "its details. A person from our team can help you check your identity.",
        buttons=[{"title": "Talk to a person", "payload": "/contact_human_agent"}],
    )
    return [
        SlotSet("order_id", None),
        SlotSet("email", None),
        SlotSet("verification_attempts", 0),
    ]


class OwnedOrderAction(Action):
    """Base for a form's submit action about one order of the verified customer.

    Identity and ownership are checked again here, whatever the form's slots say.
    """

    action_name = ""

    def name(self) -> str:
        return self.action_name

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order_number = parse_order_number(tracker.get_slot("order_id"))
        try:
            customer_id = await customer_id_for(tracker)
            if customer_id is None or order_number is None:
                return not_verified_reply(dispatcher)

            def work(crm: CRM) -> OrderReply:
                record_conversation(crm, tracker)
                order = crm.orders.find_for_customer(customer_id, order_number)
                if order is None:
                    return OrderReply(f"I couldn't find order {order_number} on your account.")
                return self.handle(crm, order, tracker)

            reply = await run_in_crm(work)
        except CRMUnavailable:
            dispatcher.utter_message(response="utter_crm_unavailable")
            return []
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons or [])
        return [*reply.events, SlotSet("email", None)]

    def handle(self, crm: CRM, order: Order, tracker: Tracker) -> OrderReply:
        """Act on the customer's own order and say what happened."""
        raise NotImplementedError


@dataclass
class OrderReply:
    """What an order action tells the customer, and the slot events it returns."""

    text: str
    events: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, str]] | None = None
