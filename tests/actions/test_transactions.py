"""Each action is one unit of work: who the customer is, and what the action does, together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rasa_sdk import Action
from sqlalchemy import event

from actions.csat import ActionRecordCsat
from actions.handoff import ActionEscalate, ActionHandoff
from actions.invoices import ActionShowInvoices
from actions.orders import (
    ActionCancelOrder,
    ActionTrackOrder,
    ValidateCancelOrderForm,
    ValidateTrackOrderForm,
)
from actions.recommendations import ActionRecommendProducts
from actions.refunds import ActionRefundStatus
from actions.session import ActionGoodbye, ActionGreet
from actions.shipping import ActionChangeAddress
from actions.tickets import ActionOpenTicket
from supportbot.crm.db import get_engine
from supportbot.store import crm_session
from tests.actions.conftest import customer_id, get_tracker, texts, token_for
from tests.actions.test_orders import ADA, verify

# Real transactions to count: the default fixture turns every one into a savepoint.
pytestmark = pytest.mark.committed


@pytest.fixture
def transactions(crm_url: str) -> Iterator[list[object]]:
    """The transactions the CRM engine begins; a test clears it once its own setup is done."""
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    engine = get_engine(crm_url)
    event.listen(engine, "begin", count)
    yield begun
    event.remove(engine, "begin", count)


async def test_an_order_lookup_by_a_verified_customer_is_one_transaction(
    crm_url: str, transactions: list[object], dispatcher: Any, domain: Any
) -> None:
    verify(crm_url, ADA)
    transactions.clear()

    await ActionTrackOrder().run(dispatcher, get_tracker(slots={"order_id": "100001"}), domain)

    assert "Order 100001 has shipped" in texts(dispatcher)
    assert len(transactions) == 1


async def test_a_signed_token_binds_in_the_same_transaction_as_the_lookup(
    crm_url: str, transactions: list[object], dispatcher: Any, domain: Any
) -> None:
    token = token_for(crm_url, ADA)
    tracker = get_tracker(slots={"order_id": "100001"}, metadata={"customer_token": token})
    transactions.clear()

    await ActionTrackOrder().run(dispatcher, tracker, domain)

    assert "Order 100001 has shipped" in texts(dispatcher)
    assert len(transactions) == 1
    with crm_session(crm_url) as crm:
        assert crm.interactions.verified_customer_id("conversation-1") == customer_id(crm_url, ADA)


# An action of each kind, run for a verified customer, with the slots it reads.
ACTIONS: dict[str, tuple[Callable[[], Action], dict[str, Any]]] = {
    "track an order": (ActionTrackOrder, {"order_id": "100001"}),
    "cancel an order": (ActionCancelOrder, {"order_id": "100004", "cancel_confirmed": True}),
    "change an address": (
        ActionChangeAddress,
        {"order_id": "100004", "new_address": "221 Baker Street, London NW1 6XE"},
    ),
    "refund status": (ActionRefundStatus, {"order_id": "100001"}),
    "show invoices": (ActionShowInvoices, {}),
    "open a ticket": (
        ActionOpenTicket,
        {"ticket_kind": "complaint", "issue_description": "The box arrived crushed."},
    ),
    "hand off": (ActionHandoff, {}),
    "escalate": (ActionEscalate, {"escalation_reason": "a test"}),
    "greet": (ActionGreet, {}),
    "say goodbye": (ActionGoodbye, {}),
    "recommend": (ActionRecommendProducts, {}),
    "record a rating": (ActionRecordCsat, {"csat_rating": "4", "csat_comment": "quick"}),
}


@pytest.mark.parametrize("name", ACTIONS)
async def test_an_action_for_a_verified_customer_is_one_transaction(
    name: str, crm_url: str, transactions: list[object], dispatcher: Any, domain: Any
) -> None:
    make, slots = ACTIONS[name]
    verify(crm_url, ADA)
    transactions.clear()

    await make().run(dispatcher, get_tracker(slots=slots), domain)

    assert len(transactions) == 1, texts(dispatcher)


async def test_checking_the_order_a_form_is_given_is_one_transaction(
    crm_url: str, transactions: list[object], dispatcher: Any, domain: Any
) -> None:
    verify(crm_url, ADA)
    transactions.clear()

    slots = await ValidateTrackOrderForm().validate_order_id(
        "100001", dispatcher, get_tracker(active_loop="track_order_form"), domain
    )

    assert slots == {"order_id": "100001"}
    assert len(transactions) == 1


async def test_deciding_whether_to_confirm_a_cancellation_is_one_transaction(
    crm_url: str, transactions: list[object], dispatcher: Any, domain: Any
) -> None:
    verify(crm_url, ADA)
    transactions.clear()
    tracker = get_tracker(slots={"order_id": "100001"}, active_loop="cancel_order_form")

    required = await ValidateCancelOrderForm().required_slots(
        ["order_id", "cancel_confirmed"], dispatcher, tracker, domain
    )

    assert required == ["order_id"]  # shipped: nothing to confirm
    assert len(transactions) == 1
