"""Handoffs put their conversation in the agents' takeover queue, in the ticket's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actions.handoff import ActionEscalate, ActionHandoff
from supportbot.console import auth
from supportbot.console.models import HandoffRequest, HandoffState
from supportbot.console.takeover import HandoffQueue
from supportbot.crm import Ticket
from supportbot.store import crm_session
from tests.actions.conftest import get_tracker, mark_valued_at_risk, token_for
from tests.actions.test_orders import GRACE


def row(url: str, sender_id: str) -> HandoffRequest | None:
    with crm_session(url) as crm:
        return crm.session.get(HandoffRequest, sender_id)


async def test_a_handoff_queues_its_conversation(crm_url, dispatcher, domain):
    events = await ActionHandoff().run(
        dispatcher, get_tracker(intent="contact_human_agent"), domain
    )

    assert events[-1]["event"] == "pause"
    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        queued = crm.session.get(HandoffRequest, "conversation-1")
        assert queued is not None and queued.state is HandoffState.WAITING
        assert queued.reason == "The customer asked for a person."
        assert queued.priority == "high" and queued.ticket_id == interaction.handoff_ticket_id
        assert queued.agent_id is None and queued.requested_at is not None
        assert [item["sender_id"] for item in crm.handoffs.items()] == ["conversation-1"]


async def test_an_escalation_queues_its_conversation_with_the_reason(crm_url, dispatcher, domain):
    reason = "one very negative message (sentiment -0.98, intensity -0.82 <= -0.7)"
    tracker = get_tracker(intent="complaint", slots={"escalation_reason": reason})
    await ActionEscalate().run(dispatcher, tracker, domain)

    queued = row(crm_url, "conversation-1")
    assert queued is not None and queued.state is HandoffState.WAITING
    assert queued.reason == f"Escalated by the assistant: {reason}."


async def test_the_queue_and_the_ticket_are_one_transaction(
    crm_url, dispatcher, domain, monkeypatch: pytest.MonkeyPatch
):
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT INTO handoff_queue", {}, Exception("disk I/O error"))

    monkeypatch.setattr(HandoffQueue, "request", fail)
    events = await ActionHandoff().run(dispatcher, get_tracker(), domain)

    assert events == [] and dispatcher.messages[-1]["response"] == "utter_handoff_unavailable"
    with crm_session(crm_url) as crm:
        assert crm.interactions.find("conversation-1") is None
        assert (
            crm.session.scalars(select(Ticket).where(Ticket.sender_id == "conversation-1")).all()
            == []
        )


async def test_a_second_handoff_puts_the_conversation_back_to_waiting(crm_url, dispatcher, domain):
    with crm_session(crm_url) as crm:
        sam = auth.Agents(crm.session).create("sam@support.test", "Sam Lee", "x" * 12).id
    await ActionHandoff().run(dispatcher, get_tracker(), domain)
    first = row(crm_url, "conversation-1")
    assert first is not None
    with crm_session(crm_url) as crm:
        crm.handoffs.claim("conversation-1", sam)
    with crm_session(crm_url) as crm:
        crm.handoffs.release("conversation-1", sam)
    assert (returned := row(crm_url, "conversation-1")) and returned.state is HandoffState.RETURNED

    await ActionHandoff().run(dispatcher, get_tracker(), domain)

    again = row(crm_url, "conversation-1")
    assert again is not None and again.state is HandoffState.WAITING
    assert again.agent_id is None and again.claimed_at is None and again.returned_at is None
    assert again.ticket_id != first.ticket_id and again.requested_at > first.requested_at


async def test_a_valued_customer_at_risk_is_served_first(crm_url, dispatcher, domain):
    # A guest asks first; then Grace, whom the insights mark as valued and likely to leave.
    await ActionHandoff().run(dispatcher, get_tracker(sender_id="guest-first"), domain)
    mark_valued_at_risk(crm_url, GRACE, value_rank=0.9, churn_risk=0.8)
    metadata = {"customer_token": token_for(crm_url, GRACE)}
    await ActionHandoff().run(
        dispatcher, get_tracker(sender_id="grace-later", metadata=metadata), domain
    )
    with crm_session(crm_url) as crm:
        assert [item["sender_id"] for item in crm.handoffs.items()] == [
            "grace-later",
            "guest-first",
        ]
        queued = crm.session.get(HandoffRequest, "grace-later")
        assert queued is not None and queued.priority == "urgent"
        ticket = crm.session.get(Ticket, queued.ticket_id)
        assert ticket is not None and "Priority: a valued customer" in ticket.description
        guest = crm.session.get(HandoffRequest, "guest-first")
        assert guest is not None and guest.priority == "high"
