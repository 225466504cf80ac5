"""Tracking, cancelling and re-routing orders, and who may see which order."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.orders import (
    ActionCancelOrder,
    ActionTrackOrder,
    ValidateCancelOrderForm,
    ValidateTrackOrderForm,
    describe_eta,
)
from actions.shipping import ActionChangeAddress, ValidateChangeAddressForm
from supportbot.crm import Order, OrderStatus
from supportbot.store import crm_session
from tests.actions.conftest import customer_id, get_tracker, slot_events, texts, with_new_slots

ADA = "ada@example.com"
GRACE = "grace@example.com"


def verify(url: str, email: str, sender_id: str = "conversation-1") -> None:
    with crm_session(url) as crm:
        crm.interactions.bind_customer(sender_id, customer_id(url, email), method="order_email")


def order_status(url: str, number: int) -> OrderStatus:
    with crm_session(url) as crm:
        return crm.session.scalars(select(Order).where(Order.number == number)).one().status


async def test_verified_customer_tracks_her_shipped_order(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = get_tracker(slots={"order_id": "100001"})

    await ActionTrackOrder().run(dispatcher, tracker, domain)

    reply = texts(dispatcher)
    assert "100001 has shipped with UPS" in reply
    assert "1Z999AA10123456784" in reply


async def test_ada_asking_for_graces_order_gets_no_data(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = with_new_slots(
        get_tracker(slots={"requested_slot": "order_id"}, active_loop="track_order_form"),
        order_id="100002",
    )

    events = await ValidateTrackOrderForm().run(dispatcher, tracker, domain)

    assert slot_events(events)["order_id"] is None
    reply = texts(dispatcher)
    assert "couldn't find order 100002 on your account" in reply
    assert "processing" not in reply.lower() and "Grace" not in reply


@pytest.mark.parametrize("verified_as", [ADA, None])
async def test_injected_intent_with_order_id_reveals_nothing(
    crm_url, dispatcher, domain, verified_as
):
    if verified_as:
        verify(crm_url, verified_as)
    tracker = get_tracker(
        intent="track_order",
        text='/track_order{"order_id":"100002"}',
        entities=[{"entity": "order_id", "value": "100002"}],
        slots={"order_id": "100002"},
    )

    await ActionTrackOrder().run(dispatcher, tracker, domain)

    reply = texts(dispatcher)
    assert "being prepared" not in reply and "Grace" not in reply
    assert ("couldn't find order 100002" in reply) if verified_as else ("can't share" in reply)


async def test_pending_order_is_cancelled_after_confirmation(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = get_tracker(slots={"order_id": "100004", "cancel_confirmed": True})

    events = await ActionCancelOrder().run(dispatcher, tracker, domain)

    assert "order 100004 is cancelled" in texts(dispatcher)
    assert slot_events(events)["cancel_confirmed"] is None
    assert order_status(crm_url, 100004) is OrderStatus.CANCELLED


async def test_denied_confirmation_keeps_the_order(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = get_tracker(slots={"order_id": "100004", "cancel_confirmed": False})

    await ActionCancelOrder().run(dispatcher, tracker, domain)

    assert "left order 100004 as it is" in texts(dispatcher)
    assert order_status(crm_url, 100004) is OrderStatus.PENDING


async def test_shipped_order_is_not_cancelled_and_not_asked_to_confirm(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = get_tracker(slots={"order_id": "100001"}, active_loop="cancel_order_form")

    required = await ValidateCancelOrderForm().required_slots(
        ["order_id", "cancel_confirmed"], dispatcher, tracker, domain
    )
    await ActionCancelOrder().run(dispatcher, tracker, domain)

    assert required == ["order_id"]
    assert "can no longer be cancelled" in texts(dispatcher)
    assert order_status(crm_url, 100001) is OrderStatus.SHIPPED


async def test_processing_order_gets_a_new_address(crm_url, dispatcher, domain):
    verify(crm_url, GRACE)
    tracker = with_new_slots(
        get_tracker(
            slots={"order_id": "100002", "requested_slot": "new_address"},
            active_loop="change_address_form",
        ),
        new_address="  221 Baker Street, London NW1 6XE ",
    )
    events = await ValidateChangeAddressForm().run(dispatcher, tracker, domain)
    address = slot_events(events)["new_address"]
    assert address == "221 Baker Street, London NW1 6XE"

    await ActionChangeAddress().run(
        dispatcher, get_tracker(slots={"order_id": "100002", "new_address": address}), domain
    )

    assert "will now be delivered to 221 Baker Street" in texts(dispatcher)
    with crm_session(crm_url) as crm:
        order = crm.orders.find_for_customer(customer_id(crm_url, GRACE), 100002)
        assert order is not None and order.shipping_address == address


async def test_an_address_without_a_number_is_asked_again(crm_url, dispatcher, domain):
    verify(crm_url, GRACE)
    tracker = with_new_slots(
        get_tracker(
            slots={"order_id": "100002", "requested_slot": "new_address"},
            active_loop="change_address_form",
        ),
        new_address="somewhere nice",
    )
    events = await ValidateChangeAddressForm().run(dispatcher, tracker, domain)

    assert slot_events(events)["new_address"] is None
    assert "full address" in texts(dispatcher)


async def test_shipped_order_address_cannot_change(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = with_new_slots(
        get_tracker(slots={"requested_slot": "order_id"}, active_loop="change_address_form"),
        order_id="100001",
    )

    events = await ValidateChangeAddressForm().run(dispatcher, tracker, domain)

    assert slot_events(events)["order_id"] is None
    assert "can no longer be changed" in texts(dispatcher)
    # Typed as the answer to the form's question: the form stays and asks again.
    assert "requested_slot" not in slot_events(events)


def activated_with(tracker: Tracker, form: str, **slots: Any) -> Tracker:
    """The tracker as a form's validation sees it when the form starts with `slots` already
    taken from the customer's request (Rasa's activation: the loop, then the candidates)."""
    state = tracker.current_state()
    state["events"] = [*state["events"], {"event": "active_loop", "name": form}]
    state["active_loop"] = {"name": form}
    return with_new_slots(Tracker.from_dict(state), **slots)


async def test_a_shipped_order_named_with_the_request_gets_one_answer(crm_url, dispatcher, domain):
    # Ada has just tracked 100001 (shipped) and asks "can I change the delivery address?".
    verify(crm_url, ADA)
    tracker = activated_with(
        get_tracker(intent="change_shipping_address", text="can I change the delivery address?"),
        "change_address_form",
        order_id="100001",
    )

    events = await ValidateChangeAddressForm().run(dispatcher, tracker, domain)

    # The form ends with the refusal: no "What's the order number?" after it.
    assert slot_events(events) == {"order_id": None, "requested_slot": None}
    [message] = dispatcher.messages
    assert "100001 is shipped, so its delivery address can no longer be changed" in message["text"]


async def test_another_order_named_with_the_request_starts_the_form(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = activated_with(
        get_tracker(text="change the address of order 100004"),
        "change_address_form",
        order_id="100004",
    )

    events = await ValidateChangeAddressForm().run(dispatcher, tracker, domain)

    assert slot_events(events) == {"order_id": "100004"}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("eta", "expected"),
    [
        (date(2026, 11, 6), "was due on Friday 06 November and is running late"),
        (date(2026, 11, 25), "should arrive today"),
        (date(2026, 11, 27), "should arrive on Friday 27 November"),
    ],
)
def test_the_delivery_estimate_reads_right_on_the_day(eta, expected):
    assert expected in describe_eta(eta, today=date(2026, 11, 25))
    assert describe_eta(None, today=date(2026, 11, 25)) == ""


class _AskingMoreChangeAddressForm(ValidateChangeAddressForm):
    """A form asking a verified customer more than the domain lists: rasa_sdk then appends
    the next slot to request after the validators' events."""

    def slots_for_customer(self, crm, customer_id, domain_slots, tracker):
        return [*super().slots_for_customer(crm, customer_id, domain_slots, tracker), "email"]


async def test_an_ended_form_is_not_reopened_by_the_next_slot_to_ask(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = activated_with(get_tracker(), "change_address_form", order_id="100001")

    events = await _AskingMoreChangeAddressForm().run(dispatcher, tracker, domain)

    assert slot_events(events) == {"order_id": None, "requested_slot": None}


async def test_the_submit_after_a_refused_order_says_nothing_more(crm_url, dispatcher, domain):
    # Rasa runs the form's submit action once the form ended, refused or completed alike.
    verify(crm_url, ADA)

    events = await ActionChangeAddress().run(dispatcher, get_tracker(), domain)

    assert dispatcher.messages == []
    assert slot_events(events) == {"order_id": None, "email": None}
    assert order_status(crm_url, 100001) is OrderStatus.SHIPPED


async def test_an_anonymous_submit_without_an_order_is_still_not_verified(
    crm_url, dispatcher, domain
):
    await ActionChangeAddress().run(dispatcher, get_tracker(), domain)

    assert "couldn't verify" in texts(dispatcher)
