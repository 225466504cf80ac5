"""Refunds, invoices, tickets, handoff and the CRM's record of each conversation."""

from __future__ import annotations

import pytest

from actions.handoff import ActionEscalate, ActionHandoff
from actions.invoices import ActionShowInvoices
from actions.orders import ValidateTrackOrderForm
from actions.recommendations import ActionRecommendProducts
from actions.refunds import ActionRefundStatus
from actions.session import ActionGoodbye, ActionSessionStart
from actions.tickets import ActionOpenTicket
from supportbot.crm import Ticket, TicketKind
from supportbot.store import crm_session
from tests.actions.conftest import customer_id, get_tracker, texts
from tests.actions.test_orders import ADA, GRACE, verify


def user_event(intent: str) -> dict:
    return {"event": "user", "text": intent, "parse_data": {"intent": {"name": intent}}}


async def test_refund_status_for_own_order(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    await ActionRefundStatus().run(dispatcher, get_tracker(slots={"order_id": "100003"}), domain)
    assert "RF-700001" in texts(dispatcher) and "approved" in texts(dispatcher)


async def test_invoices_list_only_the_verified_customers(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    await ActionShowInvoices().run(dispatcher, get_tracker(), domain)
    reply = texts(dispatcher)
    assert "INV-500001" in reply and "INV-500003" in reply
    assert "INV-500002" not in reply


async def test_someone_elses_invoice_number_is_not_found(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    await ActionShowInvoices().run(
        dispatcher, get_tracker(slots={"invoice_id": "INV-500002"}), domain
    )
    assert "couldn't find invoice INV-500002" in texts(dispatcher)


async def test_anonymous_customer_sees_no_invoice(crm_url, dispatcher, domain):
    await ActionShowInvoices().run(dispatcher, get_tracker(slots={"order_id": "100001"}), domain)
    assert "INV-" not in texts(dispatcher)
    assert "can't share" in texts(dispatcher)


async def test_complaint_opens_a_ticket_linked_to_customer_and_transcript(
    crm_url, dispatcher, domain
):
    verify(crm_url, GRACE)
    tracker = get_tracker(
        slots={"ticket_kind": "complaint", "issue_description": "The box arrived crushed."}
    )
    await ActionOpenTicket().run(dispatcher, tracker, domain)

    assert "I've opened ticket T-" in texts(dispatcher)
    with crm_session(crm_url) as crm:
        tickets = crm.tickets.open_for_customer(customer_id(crm_url, GRACE))
        ticket = next(t for t in tickets if t.sender_id == "conversation-1")
        assert ticket.kind is TicketKind.COMPLAINT
        assert ticket.description == "The box arrived crushed."


async def test_handoff_records_a_ticket_and_pauses_the_bot(crm_url, dispatcher, domain):
    tracker = get_tracker(
        intent="contact_human_agent",
        events=[user_event("track_order")],
    )
    events = await ActionHandoff().run(dispatcher, tracker, domain)

    assert events == [{"event": "pause", "timestamp": None}]
    assert dispatcher.messages[-1]["custom"]["handoff"] is True
    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        assert interaction.handoff is True
        ticket = crm.session.get(Ticket, interaction.handoff_ticket_id)
        assert ticket is not None and ticket.kind is TicketKind.HANDOFF
        assert ticket.sender_id == "conversation-1"


async def test_conversation_is_recorded_from_start_to_goodbye(crm_url, dispatcher, domain):
    await ActionSessionStart().run(dispatcher, get_tracker(), domain)
    with crm_session(crm_url) as crm:
        assert crm.interactions.start_or_get("conversation-1").ended_at is None

    tracker = get_tracker(intent="goodbye", events=[user_event("greet"), user_event("thank")])
    await ActionGoodbye().run(dispatcher, tracker, domain)

    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        assert interaction.ended_at is not None
        assert interaction.outcome == "resolved"


@pytest.fixture
def crm_down(tmp_path, monkeypatch):
    from supportbot.settings import get_settings

    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "crm.db").mkdir()
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'crm.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


LEFT_THE_FORM = [
    {"event": "active_loop", "timestamp": None, "name": None},
    {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None},
    {"event": "slot", "timestamp": None, "name": "escalation_reason", "value": None},
]


@pytest.mark.parametrize(
    ("action", "slots", "response", "returned"),
    [
        (ActionRefundStatus, {"order_id": "100003"}, "utter_crm_unavailable", []),
        (ActionShowInvoices, {}, "utter_crm_unavailable", []),
        (
            ActionOpenTicket,
            {"issue_description": "The box arrived crushed."},
            "utter_crm_unavailable",
            [],
        ),
        (ActionRecommendProducts, {}, "utter_crm_unavailable", []),
        (ActionHandoff, {}, "utter_handoff_unavailable", []),
        (
            ActionEscalate,
            {"escalation_reason": "a test"},
            "utter_handoff_unavailable",
            LEFT_THE_FORM,
        ),
    ],
)
async def test_crm_outage_gets_a_clear_message(
    crm_down, dispatcher, domain, action, slots, response, returned
):
    events = await action().run(dispatcher, get_tracker(slots=slots), domain)

    assert dispatcher.messages == [{**dispatcher.messages[0], "response": response}]
    assert events == returned


async def test_crm_outage_while_checking_an_order_number_asks_again_later(
    crm_down, dispatcher, domain
):
    tracker = get_tracker(active_loop="track_order_form")

    slots = await ValidateTrackOrderForm().validate_order_id("100001", dispatcher, tracker, domain)

    assert slots == {"order_id": None}
    assert dispatcher.messages == [{**dispatcher.messages[0], "response": "utter_crm_unavailable"}]


async def test_a_finished_conversation_refreshes_the_stored_profile(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    ada = customer_id(crm_url, ADA)
    with crm_session(crm_url) as crm:
        before = crm.profiles.refresh(ada).interaction_count
        crm.interactions.start_or_get("conversation-2").customer_id = ada  # another conversation

    await ActionGoodbye().run(dispatcher, get_tracker(intent="goodbye"), domain)

    with crm_session(crm_url) as crm:
        profile = crm.profiles.get(ada)
        assert profile is not None and profile.interaction_count == before + 1
