"""The start, restart and end of a conversation, and a greeting that knows a verified customer."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import date
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, Restarted, SessionStarted, SlotSet

from actions.crm import (
    CRMUnavailable,
    first_name,
    run_for_customer,
    run_in_crm,
)
from actions.orders import describe_status
from supportbot.crm import OrderStatus
from supportbot.insights.models import CustomerInsight
from supportbot.store import CRM

logger = logging.getLogger(__name__)
ACTIVE_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.SHIPPED)

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


# Who the customer said they were ends with the session, like the verification behind it.
IDENTITY_SLOTS = frozenset({"customer_name", "email"})


class ActionSessionStart(Action):
    """Rasa's session start, plus the CRM interaction row for this conversation; a new session
    starts anonymous (the conversation's verified customer is unbound)."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        # Carry slots over (domain: carry_over_slots_to_new_session), as the default action does.
        events += [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if value is not None and name != "requested_slot" and name not in IDENTITY_SLOTS
        ]

        def start(crm: CRM) -> None:
            crm.interactions.start_or_get(tracker.sender_id)
            crm.interactions.unbind(tracker.sender_id)

        try:
            await run_in_crm(start)
        except CRMUnavailable:
            # The conversation goes on without the CRM; actions that need it say so themselves,
            # and a binding that could not be undone still expires (SUPPORTBOT_BINDING_TTL).
            logger.warning("Could not unbind the customer at a session start: CRM unavailable")
        events.append(ActionExecuted("action_listen"))
        return events


class ActionRestart(Action):
    """Rasa's `action_restart` (the customer typed /restart), which also unbinds the verified
    customer: the conversation starts again anonymous."""

    def name(self) -> str:
        return "action_restart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            await run_in_crm(lambda crm: crm.interactions.unbind(tracker.sender_id))
        except CRMUnavailable:
            logger.warning("Could not unbind the customer at a restart: CRM unavailable")
        # As Rasa's own: the restart response if the domain has one, then Restarted.
        if "utter_restart" in (domain.get("responses") or {}):
            dispatcher.utter_message(response="utter_restart")
        return [Restarted()]


class ActionGreet(Action):
    """Greets a verified customer by name and brings up what they most likely write about."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            greeting = await run_for_customer(
                tracker,
                lambda crm, customer_id: personal_greeting(crm, tracker, customer_id, date.today()),
            )
        except CRMUnavailable:
            greeting = None
        if greeting is None:
            dispatcher.utter_message(response="utter_greet")
            return []
        name, text = greeting
        dispatcher.utter_message(text=text)
        return [SlotSet("customer_name", name)]


def personal_greeting(
    crm: CRM, tracker: Tracker, customer_id: int | None, today: date
) -> tuple[str, str] | None:
    """(name, greeting) for a verified customer, logging why it mentions what it mentions."""
    customer = crm.customers.get(customer_id) if customer_id is not None else None
    if customer is None:
        return None
    insight = crm.session.get(CustomerInsight, customer.id)
    segment = insight.segment if insight is not None else None
    opening = segment_opening(first_name(customer.name), segment)
    open_tickets = crm.tickets.open_for_customer(customer.id)
    recent = crm.orders.recent_for_customer(customer.id, limit=1)
    active = [o for o in recent if o.status in ACTIVE_ORDER_STATUSES]
    if open_tickets:
        ticket = open_tickets[0]
        mention = (
            f' I can see your request {ticket.reference} ("{ticket.subject}") is still open; '
            "ask me about it, or about anything else."
        )
        reason = f"Greeted by name and mentioned open ticket {ticket.reference}."
    elif active:
        mention = f" {describe_status(active[0], today)} Is that what you're here about?"
        reason = f"Greeted by name and mentioned order {active[0].number}, still on its way."
    else:
        mention = (
            " I can track, cancel or re-route your orders, check refunds and invoices, "
            "or get you to a person. What can I do for you?"
        )
        reason = "Greeted by name; no open ticket or order on its way to mention."
    if insight is not None and opening != segment_opening(first_name(customer.name), None):
        reason += f" Tone for the segment '{segment}' (insights run {insight.run_id})."
    crm.decisions.log(tracker.sender_id, "greet", reason, customer_id=customer.id)
    return customer.name, opening + mention


def segment_opening(name: str, segment: str | None) -> str:
    """The greeting's first sentence, in the tone the customer's segment calls for."""
    if segment is None:
        return f"Hi {name}, welcome back!"
    if "unhappy" in segment:
        return (
            f"Hi {name}, welcome back. I'm sorry things haven't gone smoothly lately; "
            "I'll do my best to put that right."
        )
    if segment.startswith("loyal high spenders"):
        return f"Hi {name}, great to see you again, and thank you for being such a loyal customer!"
    if segment.startswith("new customers"):
        return f"Hi {name}, welcome! It's good to have you with us."
    if segment.startswith("lapsed customers"):
        return f"Hi {name}, it's lovely to see you again!"
    return f"Hi {name}, welcome back!"


class ActionGoodbye(Action):
    def name(self) -> str:
        return "action_goodbye"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        def work(crm: CRM) -> None:
            interaction = crm.interactions.start_or_get(tracker.sender_id)
            crm.interactions.finish(
                tracker.sender_id, "handoff" if interaction.handoff else "resolved"
            )
            if interaction.customer_id is not None:
                crm.profiles.refresh(interaction.customer_id)

        with suppress(CRMUnavailable):  # saying goodbye must not fail because the CRM is down
            await run_in_crm(work)
        dispatcher.utter_message(response="utter_goodbye")
        return []
