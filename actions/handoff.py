"""Handing the conversation to a human agent: on request, or because the customer is upset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet

from actions.crm import (
    run_for_customer,
    tell_customer_if_crm_unavailable,
)
from supportbot.crm import TicketKind
from supportbot.insights.queries import valued_at_risk
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

# An escalation interrupts whatever form the customer was in, whether or not a person is found.
_LEAVE_THE_FORM: list[dict[str, Any]] = [
    ActiveLoop(None),
    SlotSet("requested_slot", None),
    SlotSet("escalation_reason", None),
]


async def open_handoff(tracker: Tracker, subject: str, reason: str, note: str = "") -> str:
    """Record a handoff ticket pointing at the transcript and put the conversation in the
    agents' takeover queue (one transaction); returns the ticket's reference.

    Raises:
        CRMUnavailable: if the ticket could not be written.
    """
    sender_id = tracker.sender_id

    def work(crm: CRM, customer_id: int | None) -> str:
        intents = crm.interactions.start_or_get(sender_id).intents
        # A valued customer at risk of leaving (the insights run) is served first.
        at_risk = valued_at_risk(crm.session, customer_id) if customer_id else None
        priority_note = f" Priority: {at_risk.sentence}." if at_risk else ""
        ticket = crm.tickets.open(
            kind=TicketKind.HANDOFF,
            subject=subject,
            description=(
                f"Transcript: conversation {sender_id}. "
                f"Intents so far: {', '.join(intents) or 'none'}.{note}{priority_note}"
            ),
            customer_id=customer_id,
            sender_id=sender_id,
            priority="urgent" if at_risk else "high",
        )
        crm.interactions.mark_handoff(sender_id, ticket)
        if customer_id is not None:  # the agent who takes over sees the profile as it is now
            crm.profiles.refresh(customer_id)
        crm.handoffs.request(sender_id, reason=reason, ticket=ticket)
        return ticket.reference

    return await run_for_customer(tracker, work)


class ActionHandoff(Action):
    """Records a handoff ticket pointing at the transcript, then pauses the bot.

    While paused, Rasa keeps logging the customer's messages but predicts nothing; an agent
    claims the conversation in the console's takeover queue (supportbot.console.takeover), and their
    replies and the hand-back come in through Rasa's HTTP API.
    """

    def name(self) -> str:
        return "action_handoff"

    @tell_customer_if_crm_unavailable(returning=[], response="utter_handoff_unavailable")
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reference = await open_handoff(
            tracker, "Customer asked for a human agent", "The customer asked for a person."
        )
        dispatcher.utter_message(
            text="I'm connecting you with a person from our team. They'll reply right here, "
            f"usually within a few minutes. Your reference is {reference}.",
            json_message={"handoff": True, "ticket": reference},
        )
        return [ConversationPaused()]


class ActionEscalate(Action):
    """Brings in a person because the conversation is going badly (see supportbot.escalation).

    Predicted by `assistant.policies.escalation.EscalationPolicy` from the `escalation_reason`
    slot that `action_analyse_message` sets; it leaves any form the customer was in.
    """

    def name(self) -> str:
        return "action_escalate"

    @tell_customer_if_crm_unavailable(
        returning=_LEAVE_THE_FORM, response="utter_handoff_unavailable"
    )
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reason = tracker.get_slot("escalation_reason") or "negative sentiment"
        reference = await open_handoff(
            tracker,
            "Upset customer escalated by the assistant",
            f"Escalated by the assistant: {reason}.",
            f" Reason: {reason}.",
        )
        dispatcher.utter_message(
            text="I'm sorry this has been frustrating. I'm bringing in a person from our team "
            "who can sort it out; they'll reply right here shortly. "
            f"Your reference is {reference}.",
            json_message={"handoff": True, "ticket": reference, "escalated": True},
        )
        return [*_LEAVE_THE_FORM, ConversationPaused()]
