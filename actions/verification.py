"""Forms that need a verified customer: they ask for an order number and the email on it.

The pair is checked against the CRM; a match binds the conversation to that customer in the CRM.
Failed checks are counted in the CRM per email, order number and client
(supportbot/crm/verification_guard.py): a try too soon after failures, or after too many, is
refused without being checked. Once bound, an order number is only accepted if it belongs to that
customer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.forms import REQUESTED_SLOT

from actions.crm import (
    CRMUnavailable,
    first_name,
    run_for_customer,
    run_in_crm,
    tell_customer_if_crm_unavailable,
)
from supportbot.crm import Order
from supportbot.crm.customer_input import (
    find_email,
    find_order_number,
    parse_email,
    parse_order_number,
)
from supportbot.crm.models import utcnow
from supportbot.crm.verification_guard import GuardKeys, GuardRules, guard_keys
from supportbot.settings import SettingsError, get_settings
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)


class VerifiedCustomerForm(FormValidationAction):
    """Base for forms about one of the customer's orders, or about the customer.

    Subclasses set `form` (and `about_an_order = False` for a form about the customer, which
    asks a verified customer for no order), and may override `check_order` to veto an owned
    order, and `slots_for_customer` to ask a verified customer less.
    """

    form = ""
    # An anonymous customer names an order to verify with either way.
    about_an_order = True
    # Said after refusing an order named with the request (the form then ends): how to ask
    # about another order.
    another_order_hint = ""

    def name(self) -> str:
        return f"validate_{self.form}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        def slots(crm: CRM, customer_id: int | None) -> list[str]:
            if customer_id is None:
                return self.slots_for_anonymous(domain_slots, tracker)
            return self.slots_for_customer(crm, customer_id, domain_slots, tracker)

        try:
            return await run_for_customer(tracker, slots)
        except CRMUnavailable:  # without the CRM no one counts as verified
            return self.slots_for_anonymous(domain_slots, tracker)

    def slots_for_anonymous(self, domain_slots: list[str], tracker: Tracker) -> list[str]:
        """An order number, then the email on that order, before the form's own slots.

        An email kept while the customer is still anonymous is a try the guard refused: the
        form asks nothing more, and its submit action offers a person."""
        slots = self._with_order_id(domain_slots)
        slots.insert(slots.index("order_id") + 1, "email")
        if tracker.get_slot("email") is not None:
            return slots[: slots.index("email") + 1]
        return slots

    def slots_for_customer(
        self, crm: CRM, customer_id: int, domain_slots: list[str], tracker: Tracker
    ) -> list[str]:
        """What a verified customer is asked: which of their orders (if the form is about one),
        and the form's own slots."""
        return self._with_order_id(domain_slots) if self.about_an_order else list(domain_slots)

    @staticmethod
    def _with_order_id(domain_slots: list[str]) -> list[str]:
        slots = list(domain_slots)
        if "order_id" not in slots:
            slots.insert(0, "order_id")
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

    @tell_customer_if_crm_unavailable(returning={"order_id": None})
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

        def problem(crm: CRM, customer_id: int | None) -> tuple[str | None, bool]:
            """Why the order is refused (or None), and whether the form itself refused it."""
            if customer_id is None:
                return None, False  # anonymous: the email question that follows decides
            order = crm.orders.find_for_customer(customer_id, order_number)
            if order is None:
                return (
                    f"I couldn't find order {order_number} on your account. "
                    "Could you check the number?"
                ), False
            return self.check_order(order), True

        reason, refused_by_form = await run_for_customer(tracker, problem)
        if reason and refused_by_form and started_by_this_message(tracker, self.form):
            # The order came with the request itself ("re-route order 100001") and cannot be
            # used here: the refusal is the whole answer, so the form ends instead of asking for
            # an order number too. Asking again about another order starts it afresh.
            dispatcher.utter_message(text=f"{reason} {self.another_order_hint}".strip())
            return {"order_id": None, REQUESTED_SLOT: None}
        if reason:
            dispatcher.utter_message(text=reason)
            return {"order_id": None}
        return {"order_id": order_number}

    def check_order(self, order: Order) -> str | None:
        """A reason to refuse this (owned) order, or None to accept it."""
        return None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        # A validator that ended the form has the last word: the next slot rasa_sdk would
        # request after it (for a form with extra slots) would ask again.
        ended = next(
            (
                index
                for index, event in enumerate(events)
                if event.get("event") == "slot"
                and event.get("name") == REQUESTED_SLOT
                and event.get("value") is None
            ),
            None,
        )
        if ended is None:
            return events
        return events[: ended + 1] + [
            event for event in events[ended + 1 :] if event.get("name") != REQUESTED_SLOT
        ]

    @tell_customer_if_crm_unavailable(returning={"email": None})
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
        try:
            secret = get_settings().require("identity_secret")
        except SettingsError:
            logger.error("Verification is off: SUPPORTBOT_IDENTITY_SECRET is not set")
            return {"email": email}  # the submit action offers a person
        keys = guard_keys(secret, email=email, order_number=order_number, client=client_of(tracker))
        outcome = await run_in_crm(
            lambda crm: verify_order_owner(crm, tracker.sender_id, order_number, email, keys)
        )
        if outcome == "refused":
            # The form ends; its submit action finds no verified customer and offers a person.
            return {"email": email}
        if outcome == "failed":
            dispatcher.utter_message(
                text="Sorry, that order number and email don't match our records. Let's try again."
            )
            return {"order_id": None, "email": None}
        dispatcher.utter_message(text=f"Thanks, {first_name(outcome)}, you're verified.")
        return {"email": email, "customer_name": outcome}


def started_by_this_message(tracker: Tracker, form: str) -> bool:
    """Whether the customer's latest message started the form (its slots came with the
    request), rather than answering one of the form's questions."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def client_of(tracker: Tracker) -> str:
    """Who is trying, as far as we can tell: the channel's opaque per-client value in the
    latest message's metadata, or else the conversation."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    client = metadata.get("client") if isinstance(metadata, dict) else None
    if isinstance(client, str) and client:
        return f"client:{client}"
    return f"sender:{tracker.sender_id}"


def verify_order_owner(
    crm: CRM, sender_id: str, order_number: str, email: str, keys: GuardKeys
) -> str:
    """Check the pair against the CRM if the guard lets this try through, in one transaction:
    "refused" (too early after a failure, or locked), "failed", or the verified customer's
    name (and the conversation is bound to them)."""
    settings = get_settings()
    rules = GuardRules(
        max_failures=settings.verification_max_failures,
        delay=timedelta(seconds=settings.verification_delay_seconds),
        lock=timedelta(seconds=settings.verification_lock_seconds),
    )
    now = utcnow()
    guard = crm.verification_guard
    allowed_at = guard.refused_until(keys, rules, now)
    if allowed_at is not None:
        wait = (allowed_at - now).total_seconds()
        logger.info("Verification refused unchecked: failed tries, next allowed in %.0f s", wait)
        return "refused"
    customer = crm.orders.verify_owner(order_number, email)
    if customer is None:
        guard.record_failure(keys, now)
        return "failed"
    guard.record_success(keys)
    crm.interactions.bind_customer(sender_id, customer.id, method="order_email")
    return customer.name


def not_verified_reply(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """What a submit action says and does when the customer could not be verified.

    It is also all a refused try hears: nothing about whether the email or the order exists."""
    dispatcher.utter_message(
        text="I couldn't verify that the order is yours, so for your security I can't share "
        "its details. A person from our team can help you check your identity.",
        buttons=[{"title": "Talk to a person", "payload": "/contact_human_agent"}],
    )
    return [SlotSet("order_id", None), SlotSet("email", None)]


class OwnedOrderAction(Action):
    """Base for a form's submit action about one order of the verified customer.

    Identity and ownership are checked again here, whatever the form's slots say.
    """

    action_name = ""

    def name(self) -> str:
        return self.action_name

    @tell_customer_if_crm_unavailable(returning=[])
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        order_number = parse_order_number(tracker.get_slot("order_id"))

        def work(crm: CRM, customer_id: int | None) -> OrderReply | None:
            if customer_id is not None and order_number is None:
                # The form refused the order named with the request and ended: it has said
                # why, and there is nothing to act on.
                return OrderReply("", [SlotSet("order_id", None)])
            if customer_id is None or order_number is None:
                return None
            order = crm.orders.find_for_customer(customer_id, order_number)
            if order is None:
                return OrderReply(f"I couldn't find order {order_number} on your account.")
            return self.handle(crm, order, tracker)

        reply = await run_for_customer(tracker, work)
        if reply is None:
            return not_verified_reply(dispatcher)
        if reply.text:
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
