"""Finding and checking the verified customer's invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.crm import run_for_customer, tell_customer_if_crm_unavailable
from actions.verification import VerifiedCustomerForm, not_verified_reply
from supportbot.crm import Invoice
from supportbot.crm.customer_input import parse_order_number
from supportbot.crm.formatting import format_money
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict


def describe_invoice(invoice: Invoice) -> str:
    """One customer-facing line about an invoice."""
    amount = format_money(invoice.amount, invoice.currency)
    return f"{invoice.number} ({invoice.issued_at:%d %b %Y}): {amount}, {invoice.status.value}" + (
        f", due {invoice.due_date:%d %b %Y}" if invoice.status.value == "open" else ""
    )


class ValidateInvoiceForm(VerifiedCustomerForm):
    """Asks nothing of a verified customer; an anonymous one verifies with an order first."""

    form = "invoice_form"
    about_an_order = False


class ActionShowInvoices(Action):
    def name(self) -> str:
        return "action_show_invoices"

    @tell_customer_if_crm_unavailable(returning=[])
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        invoice_number = tracker.get_slot("invoice_id")
        order_number = parse_order_number(tracker.get_slot("order_id"))

        def work(crm: CRM, customer_id: int | None) -> str | None:
            if customer_id is None:
                return None
            if isinstance(invoice_number, str) and invoice_number:
                invoice = crm.invoices.find_for_customer(customer_id, invoice_number)
                if invoice is None:
                    return f"I couldn't find invoice {invoice_number} on your account."
                return "Here it is: " + describe_invoice(invoice) + "."
            invoices = (
                crm.invoices.for_order(customer_id, order_number)
                if order_number
                else crm.invoices.for_customer(customer_id)
            )
            if not invoices:
                return "I couldn't find any invoices on your account yet."
            lines = "\n".join(f"- {describe_invoice(invoice)}" for invoice in invoices)
            return f"Here are your invoices:\n{lines}\nYou can download each one from Orders."

        text = await run_for_customer(tracker, work)
        if text is None:
            return not_verified_reply(dispatcher)
        dispatcher.utter_message(text=text)
        return [SlotSet("invoice_id", None), SlotSet("email", None)]
