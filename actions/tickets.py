"""Support tickets for complaints and payment problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.crm import run_for_customer, tell_customer_if_crm_unavailable
from supportbot.crm import TicketKind
from supportbot.crm.customer_input import customer_text
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

MIN_DESCRIPTION_LENGTH = 10
MAX_DESCRIPTION_LENGTH = 2000

_SUBJECTS = {
    TicketKind.COMPLAINT: "Complaint raised in chat",
    TicketKind.PAYMENT_ISSUE: "Payment problem raised in chat",
}


class ValidateSupportTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_support_ticket_form"

    async def validate_issue_description(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = customer_text(slot_value, multiline=True)
        if len(text) < MIN_DESCRIPTION_LENGTH:
            dispatcher.utter_message(
                text="Could you tell me a bit more, so our team can act on it straight away?"
            )
            return {"issue_description": None}
        return {"issue_description": text[:MAX_DESCRIPTION_LENGTH]}


class ActionOpenTicket(Action):
    def name(self) -> str:
        return "action_open_ticket"

    @tell_customer_if_crm_unavailable(returning=[])
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        kind = (
            TicketKind.PAYMENT_ISSUE
            if tracker.get_slot("ticket_kind") == "payment_issue"
            else TicketKind.COMPLAINT
        )
        description = str(tracker.get_slot("issue_description") or "")

        def work(crm: CRM, customer_id: int | None) -> str:
            ticket = crm.tickets.open(
                kind=kind,
                subject=_SUBJECTS[kind],
                description=description,
                customer_id=customer_id,
                sender_id=tracker.sender_id,
                priority="high" if kind is TicketKind.PAYMENT_ISSUE else "normal",
            )
            follow_up = (
                "We'll reply by email within one business day."
                if customer_id is not None
                else "Please keep this reference: as you haven't verified an order with me, "
                "quote it when you contact us."
            )
            return f"I've opened ticket {ticket.reference} for our team. {follow_up}"

        dispatcher.utter_message(text=await run_for_customer(tracker, work))
        return [SlotSet("issue_description", None), SlotSet("ticket_kind", None)]
