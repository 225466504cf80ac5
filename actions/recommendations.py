"""'What else would go with my order?': suggestions mined from what customers buy together."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action

from actions.crm import run_for_customer, tell_customer_if_crm_unavailable
from supportbot.crm.recommendations import Recommendation, recommend_for_customer
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


class ActionRecommendProducts(Action):
    def name(self) -> str:
        return "action_recommend_products"

    @tell_customer_if_crm_unavailable(returning=[])
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        sender_id = tracker.sender_id
        reply = await run_for_customer(
            tracker,
            lambda crm, customer_id: (
                None if customer_id is None else _recommend(crm, sender_id, customer_id)
            ),
        )
        if reply is None:
            dispatcher.utter_message(response="utter_recommendation_needs_identity")
        else:
            dispatcher.utter_message(text=reply)
        return []


def _recommend(crm: CRM, sender_id: str, customer_id: int) -> str:
    basis, picks = recommend_for_customer(crm.session, customer_id)
    if basis is None or not picks:
        crm.decisions.log(
            sender_id,
            "recommend",
            "No recommendation: no order yet, or no product bought together often enough.",
            customer_id=customer_id,
        )
        return (
            "I don't have a suggestion that fits your orders yet. Our bestsellers are on the "
            "home page, and I'm happy to help with anything about an order."
        )
    crm.decisions.log(
        sender_id,
        "recommend",
        f"Suggested {', '.join(p.product_name for p in picks)} from co-purchases with order "
        f"{basis.number}.",
        customer_id=customer_id,
        details={
            "order": basis.number,
            "products": [
                {"sku": p.sku, "confidence": p.confidence, "because_of": p.because_of}
                for p in picks
            ],
        },
    )
    return f"Customers who bought items from your order {basis.number} also liked: " + "; ".join(
        _describe(p) for p in picks
    )


def _describe(pick: Recommendation) -> str:
    return f"{pick.product_name} ({round(pick.confidence * 100)}% of orders with {pick.because_of})"
