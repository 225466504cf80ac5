"""Where the verified customer's refund for an order has got to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actions.verification import OrderReply, OwnedOrderAction, VerifiedCustomerForm
from supportbot.crm import Order, RefundStatus
from supportbot.crm.formatting import format_money
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker

_STATUS_TEXT = {
    RefundStatus.REQUESTED: "has been requested and is waiting for review",
    RefundStatus.APPROVED: "is approved and will reach your original payment method within "
    "5-10 business days",
    RefundStatus.PAID: "has been paid out",
    RefundStatus.REJECTED: "was not approved; you'll find the reason in the email we sent",
}


class ValidateRefundStatusForm(VerifiedCustomerForm):
    form = "refund_status_form"


class ActionRefundStatus(OwnedOrderAction):
    action_name = "action_refund_status"

    def handle(self, crm: CRM, order: Order, tracker: Tracker) -> OrderReply:
        refunds = crm.refunds.for_order(order.customer_id, order.number)
        if not refunds:
            return OrderReply(
                f"There's no refund on order {order.number} yet. You can start one from "
                "Orders > Return items within 30 days of delivery."
            )
        lines = [
            f"Refund {refund.number} of {format_money(refund.amount, order.currency)} "
            f"{_STATUS_TEXT[refund.status]}."
            for refund in refunds
        ]
        return OrderReply(" ".join(lines))
