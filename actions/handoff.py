"""Handing the conversation to a human agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import ConversationPaused

from actions.crm import (
    CRMUnavailable,
    customer_id_for,
    record_conversation,
    run_in_crm,
    user_intents,
)
from bot.crm import CRM, TicketKind

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


class ActionHandoff(Action):
    """Records a handoff ticket pointing at the transcript, then pauses the bot.

    While paused, Rasa keeps logging the customer's messages but predicts nothing; an agent's
    replies and the resume come in through Rasa's HTTP API (`supportbot agent ...`).
    """

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        sender_id = tracker.sender_id
        try:
            customer_id = await customer_id_for(tracker)

            def work(crm: CRM) -> str:
                record_conversation(crm, tracker)
                ticket = crm.tickets.open(
                    kind=TicketKind.HANDOFF,
                    subject="Customer asked for a human agent",
                    description=(
                        f"Transcript: conversation {sender_id}. "
                        f"Intents so far: {', '.join(user_intents(tracker)) or 'none'}."
                    ),
                    customer_id=customer_id,
                    sender_id=sender_id,
                    priority="high",
                )
                crm.interactions.mark_handoff(sender_id, ticket)
                return ticket.reference

            reference = await run_in_crm(work)
        except CRMUnavailable:
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return []
        dispatcher.utter_message(
            text="I'm connecting you with a person from our team. They'll reply right here, "
            f"usually within a few minutes. Your reference is {reference}.",
            json_message={"handoff": True, "ticket": reference},
        )
        return [ConversationPaused()]
