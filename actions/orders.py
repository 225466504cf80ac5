"""Tracking and cancelling the verified customer's orders."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from rasa_sdk.events import SlotSet

from actions.verification import OrderReply, OwnedOrderAction, VerifiedCustomerForm
from supportbot.crm import Order, OrderNotCancellable, OrderStatus
from supportbot.crm.customer_input import parse_order_number
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


def describe_eta(eta: date | None, today: date) -> str:
    """The delivery estimate as a customer reads it today (an ETA can pass before delivery)."""
    if eta is None:
        return ""
    if eta < today:
        return f" It was due on {eta:%A %d %B} and is running late; I'm sorry about that."
    if eta == today:
        return " It should arrive today."
    return f" It should arrive on {eta:%A %d %B}."


def describe_status(order: Order, today: date | None = None) -> str:
    """One customer-facing sentence about where an order is."""
    number = order.number
    eta = describe_eta(order.eta, today or date.today())
    match order.status:
        case OrderStatus.PENDING:
            return f"Order {number} is placed and waiting for payment confirmation."
        case OrderStatus.PROCESSING:
            return f"Order {number} is being prepared in our warehouse.{eta}"
        case OrderStatus.SHIPPED:
            tracking = (
                f" with {order.carrier}, tracking number {order.tracking_number}"
                if order.carrier and order.tracking_number
                else ""
            )
            return f"Order {number} has shipped{tracking}.{eta}"
        case OrderStatus.DELIVERED:
            return f"Order {number} has been delivered."
        case OrderStatus.CANCELLED:
            return f"Order {number} was cancelled."
        case OrderStatus.RETURNED:
            return f"Order {number} was returned to us."
    return f"Order {number} is {order.status.value}."


class ValidateTrackOrderForm(VerifiedCustomerForm):
    form = "track_order_form"


class ActionTrackOrder(OwnedOrderAction):
    action_name = "action_track_order"

    def handle(self, crm: CRM, order: Order, tracker: Tracker) -> OrderReply:
        return OrderReply(describe_status(order))


class ValidateCancelOrderForm(VerifiedCustomerForm):
    form = "cancel_order_form"

    def slots_for_customer(
        self, crm: CRM, customer_id: int, domain_slots: list[str], tracker: Tracker
    ) -> list[str]:
        slots = super().slots_for_customer(crm, customer_id, domain_slots, tracker)
        # No point asking to confirm a cancellation that cannot happen.
        order_number = parse_order_number(tracker.get_slot("order_id"))
        order = crm.orders.find_for_customer(customer_id, order_number) if order_number else None
        if order is not None and not order.status.is_cancellable:
            slots.remove("cancel_confirmed")
        return slots

    async def validate_cancel_confirmed(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"cancel_confirmed": bool(slot_value)}


class ActionCancelOrder(OwnedOrderAction):
    action_name = "action_cancel_order"

    def handle(self, crm: CRM, order: Order, tracker: Tracker) -> OrderReply:
        events = [SlotSet("cancel_confirmed", None)]
        if not order.status.is_cancellable:
            return OrderReply(
                f"Order {order.number} is {order.status.value}, so it can no longer be "
                "cancelled. Once it has arrived you can return it within 30 days for a refund.",
                events,
            )
        if tracker.get_slot("cancel_confirmed") is not True:
            return OrderReply(f"Okay, I've left order {order.number} as it is.", events)
        try:
            crm.orders.cancel(order, reason="Cancelled by the customer in chat")
        except OrderNotCancellable:
            return OrderReply(f"Order {order.number} can no longer be cancelled.", events)
        return OrderReply(
            f"Done: order {order.number} is cancelled. Any payment taken will be refunded to "
            "your original payment method within 5-10 business days.",
            events,
        )
