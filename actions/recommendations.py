"""'What else would go with my order?': suggestions from the association rules the nightly
insights run mined over every order (`supportbot insights run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action

from actions.crm import run_for_customer, tell_customer_if_crm_unavailable
from supportbot.insights.product_rules import Recommendation
from supportbot.insights.queries import recommend_for_customer
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
    suggestions = recommend_for_customer(crm.session, customer_id)
    basis, picks, names = suggestions.basis, suggestions.picks, suggestions.names
    if basis is None or not picks:
        crm.decisions.log(
            sender_id,
            "recommend",
            "No recommendation: no order yet, no insights run yet, or no rule fits the order.",
            customer_id=customer_id,
        )
        return (
            "I don't have a suggestion that fits your orders yet. Our bestsellers are on the "
            "home page, and I'm happy to help with anything about an order."
        )
    crm.decisions.log(
        sender_id,
        "recommend",
        f"Suggested {', '.join(p.sku for p in picks)} for order {basis.number} from the mined "
        "rules: " + "; ".join(p.reason for p in picks) + ".",
        customer_id=customer_id,
        details={
            "order": basis.number,
            "products": [
                {
                    "sku": p.sku,
                    "confidence": p.confidence,
                    "lift": p.lift,
                    "because_of": list(p.because_of),
                }
                for p in picks
            ],
        },
    )
    return f"Customers who ordered what's in your order {basis.number} also liked: " + "; ".join(
        _describe(p, names) for p in picks
    )


def _describe(pick: Recommendation, names: dict[str, str]) -> str:
    return f"{names.get(pick.sku, pick.sku)} ({pick.reason})"
