"""Changing where one of the verified customer's orders is delivered."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rasa_sdk.events import SlotSet

from actions.verification import OrderReply, OwnedOrderAction, VerifiedCustomerForm
from supportbot.crm import AddressChangeNotAllowed, Order
from supportbot.crm.customer_input import customer_text
from supportbot.crm.repositories import MAX_ADDRESS_LENGTH
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

MIN_ADDRESS_LENGTH = 10


def _not_changeable(order: Order) -> str:
    return (
        f"Order {order.number} is {order.status.value}, so its delivery address can no longer "
        "be changed. The carrier may let you re-route it from the tracking page."
    )


class ValidateChangeAddressForm(VerifiedCustomerForm):
    form = "change_address_form"
    another_order_hint = (
        'For another order, just ask again with its number, like "change the address of '
        'order 100123".'
    )

    def check_order(self, order: Order) -> str | None:
        return None if order.status.allows_address_change else _not_changeable(order)

    async def validate_new_address(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        address = customer_text(slot_value, multiline=False)
        if not MIN_ADDRESS_LENGTH <= len(address) <= MAX_ADDRESS_LENGTH or not re.search(
            r"\d", address
        ):
            dispatcher.utter_message(
                text="That doesn't look like a full address. Please include the street and "
                "house number, the city and the postcode."
            )
            return {"new_address": None}
        return {"new_address": address}


class ActionChangeAddress(OwnedOrderAction):
    action_name = "action_change_address"

    def handle(self, crm: CRM, order: Order, tracker: Tracker) -> OrderReply:
        events = [SlotSet("new_address", None)]
        address = tracker.get_slot("new_address")
        if not isinstance(address, str) or not address:
            return OrderReply("I didn't get a new address, so nothing was changed.", events)
        try:
            crm.orders.change_shipping_address(order, address)
        except AddressChangeNotAllowed:
            return OrderReply(_not_changeable(order), events)
        return OrderReply(f"Done: order {order.number} will now be delivered to {address}.", events)
