"""The start and end of a conversation, and a greeting that knows a verified customer."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.crm import CRMUnavailable, customer_id_for, first_name, record_conversation, run_in_crm
from bot.crm import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


class ActionSessionStart(Action):
    """Rasa's session start, plus the CRM interaction row for this conversation."""

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
            if value is not None and name != "requested_slot"
        ]
        # The conversation goes on without the CRM; actions that need it say so themselves.
        with suppress(CRMUnavailable):
            await run_in_crm(lambda crm: crm.interactions.start_or_get(tracker.sender_id))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            customer_id = await customer_id_for(tracker)

            def work(crm: CRM) -> str | None:
                record_conversation(crm, tracker)
                customer = crm.customers.get(customer_id) if customer_id is not None else None
                return customer.name if customer else None

            name = await run_in_crm(work)
        except CRMUnavailable:
            name = None
        if name is None:
            dispatcher.utter_message(response="utter_greet")
            return []
        dispatcher.utter_message(
            text=f"Hi {first_name(name)}, welcome back! I can track, cancel or re-route your "
            "orders, check refunds and invoices, or get you to a person. What can I do for you?"
        )
        return [SlotSet("customer_name", name)]


class ActionGoodbye(Action):
    def name(self) -> str:
        return "action_goodbye"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        def work(crm: CRM) -> None:
            record_conversation(crm, tracker)
            interaction = crm.interactions.start_or_get(tracker.sender_id)
            crm.interactions.finish(
                tracker.sender_id, "handoff" if interaction.handoff else "resolved"
            )

        with suppress(CRMUnavailable):  # saying goodbye must not fail because the CRM is down
            await run_in_crm(work)
        dispatcher.utter_message(response="utter_goodbye")
        return []
