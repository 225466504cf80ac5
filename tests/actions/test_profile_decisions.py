"""Decisions that use the profile, each logged with its reason; CSAT at the end."""

from __future__ import annotations

from sqlalchemy import select

from actions.csat import SKIPPED, ActionRecordCsat, ValidateCsatForm, parse_rating
from actions.handoff import ActionEscalate
from actions.recommendations import ActionRecommendProducts
from actions.session import ActionGreet
from supportbot.crm import Ticket, TicketKind, TicketStatus
from supportbot.crm.models import Order, OrderItem
from supportbot.insights.models import CustomerInsight, InsightRun, ProductRuleRow
from supportbot.store import crm_session
from tests.actions.conftest import (
    customer_id,
    get_tracker,
    mark_valued_at_risk,
    slot_events,
    texts,
    token_for,
)
from tests.actions.test_orders import ADA, GRACE, verify


def decisions(url: str, sender_id: str = "conversation-1") -> list[tuple[str, str]]:
    with crm_session(url) as crm:
        return [(d.kind, d.reason) for d in crm.decisions.for_conversation(sender_id)]


async def test_greeting_mentions_an_open_ticket_and_says_why(crm_url, dispatcher, domain):
    grace = customer_id(crm_url, GRACE)
    with crm_session(crm_url) as crm:
        ticket = crm.tickets.open(
            kind=TicketKind.COMPLAINT,
            subject="Mug arrived chipped",
            description=".",
            customer_id=grace,
        )
        reference = ticket.reference
    tracker = get_tracker(
        intent="greet", text="hi", metadata={"customer_token": token_for(crm_url, GRACE)}
    )
    await ActionGreet().run(dispatcher, tracker, domain)

    assert "Hi Grace" in texts(dispatcher) and reference in texts(dispatcher)
    assert "Mug arrived chipped" in texts(dispatcher)
    assert decisions(crm_url) == [
        ("greet", f"Greeted by name and mentioned open ticket {reference}.")
    ]


async def test_greeting_mentions_an_order_on_its_way(crm_url, dispatcher, domain):
    ada = customer_id(crm_url, ADA)
    with crm_session(crm_url) as crm:  # no open tickets for this test
        for ticket in crm.tickets.open_for_customer(ada):
            ticket.status = TicketStatus.CLOSED
    tracker = get_tracker(
        intent="greet", text="hello", metadata={"customer_token": token_for(crm_url, ADA)}
    )
    await ActionGreet().run(dispatcher, tracker, domain)

    assert "Hi Ada" in texts(dispatcher) and "Order 100004" in texts(dispatcher)
    ((kind, reason),) = decisions(crm_url)
    assert kind == "greet" and "order 100004" in reason


async def test_anonymous_greeting_is_the_template_and_logs_nothing(crm_url, dispatcher, domain):
    await ActionGreet().run(dispatcher, get_tracker(intent="greet", text="hi"), domain)
    assert dispatcher.messages[0]["response"] == "utter_greet"
    assert decisions(crm_url) == []


def store_rule(url: str, antecedent: str, consequent: str) -> None:
    """A finished insights run holding one mined rule (as `supportbot insights run` stores)."""
    with crm_session(url) as crm:
        run = InsightRun(status="finished", versions={}, summary={})
        crm.session.add(run)
        crm.session.flush()
        crm.session.add(
            ProductRuleRow(
                run_id=run.id,
                antecedent=[antecedent],
                consequent=consequent,
                support=0.05,
                confidence=0.4,
                lift=2.5,
                count=12,
            )
        )


async def test_recommendation_comes_from_the_stored_rules(crm_url, dispatcher, domain):
    ada = customer_id(crm_url, ADA)
    with crm_session(crm_url) as crm:
        orders = crm.session.scalars(select(Order).where(Order.customer_id == ada)).all()
        owned = {i.sku for o in orders for i in o.items}
        basket = sorted(i.sku for o in orders if o.number == 100004 for i in o.items)
        names = dict(crm.session.execute(select(OrderItem.sku, OrderItem.product_name)).all())
    suggestion = next(sku for sku in sorted(names) if sku not in owned)
    store_rule(crm_url, basket[0], suggestion)
    verify(crm_url, ADA)
    await ActionRecommendProducts().run(
        dispatcher, get_tracker(intent="ask_recommendation", text="what goes with it?"), domain
    )
    reply = texts(dispatcher)
    assert "your order 100004 also liked" in reply and names[suggestion] in reply
    assert "40% of orders" in reply and "2.5x the usual rate" in reply
    ((kind, reason),) = decisions(crm_url)
    assert kind == "recommend" and "order 100004 from the mined rules" in reason
    assert suggestion in reason


async def test_no_recommendation_before_the_first_insights_run(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    await ActionRecommendProducts().run(
        dispatcher, get_tracker(intent="ask_recommendation", text="what goes with it?"), domain
    )
    assert "don't have a suggestion" in texts(dispatcher)
    ((kind, reason),) = decisions(crm_url)
    assert kind == "recommend" and "no insights run yet" in reason


async def test_recommendation_needs_a_verified_customer(crm_url, dispatcher, domain):
    await ActionRecommendProducts().run(
        dispatcher, get_tracker(intent="ask_recommendation", text="suggest something"), domain
    )
    assert dispatcher.messages[0]["response"] == "utter_recommendation_needs_identity"
    assert decisions(crm_url) == []


async def test_escalation_opens_a_handoff_with_the_reason_and_leaves_the_form(
    crm_url, dispatcher, domain
):
    verify(crm_url, GRACE)
    reason = "one very negative message (sentiment -0.98, intensity -0.82 <= -0.7)"
    tracker = get_tracker(
        intent="complaint",
        text="this is a disgrace",
        slots={"escalation_reason": reason},
        active_loop="track_order_form",
    )
    events = await ActionEscalate().run(dispatcher, tracker, domain)

    assert "bringing in a person" in texts(dispatcher)
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert slot_events(events)["escalation_reason"] is None
    assert events[-1]["event"] == "pause"
    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        assert interaction.handoff and interaction.outcome == "handoff"
        ticket = crm.session.get(Ticket, interaction.handoff_ticket_id)
        assert ticket is not None and reason in ticket.description


def test_ratings_are_read_from_what_customers_type():
    assert [parse_rating(v) for v in ("4", "5/5", " 3 stars", "four", 2, "I'd say 4")] == [
        4,
        5,
        3,
        4,
        2,
        4,
    ]
    assert [parse_rating(v) for v in ("6", "0", "great", "", None, True, "1 or 2", 4.5)] == [
        None
    ] * 8


async def test_csat_form_skips_when_the_customer_moves_on(dispatcher, domain):
    form = ValidateCsatForm()
    tracker = get_tracker(intent="track_order", text="where is my order")
    assert await form.validate_csat_rating("where is my order", dispatcher, tracker, domain) == {
        "csat_rating": SKIPPED,
        "csat_comment": SKIPPED,
    }
    assert await form.validate_csat_rating("4", dispatcher, tracker, domain) == {"csat_rating": "4"}
    no = get_tracker(intent="deny", text="no thanks")
    assert await form.validate_csat_comment("no thanks", dispatcher, no, domain) == {
        "csat_comment": SKIPPED
    }
    assert await form.validate_csat_comment("/deny", dispatcher, no, domain) == {
        "csat_comment": SKIPPED
    }
    comment = get_tracker(intent="inform", text="faster replies please")
    assert await form.validate_csat_comment(
        "faster replies\x07 please", dispatcher, comment, domain
    ) == {"csat_comment": "faster replies  please"}


async def test_csat_is_stored_on_the_interaction_and_the_profile(crm_url, dispatcher, domain):
    verify(crm_url, ADA)
    tracker = get_tracker(slots={"csat_rating": "2", "csat_comment": "too slow"})
    events = await ActionRecordCsat().run(dispatcher, tracker, domain)

    assert dispatcher.messages[0]["response"] == "utter_csat_thanks"
    assert slot_events(events) == {"csat_rating": None, "csat_comment": None}
    with crm_session(crm_url) as crm:
        interaction = crm.interactions.start_or_get("conversation-1")
        assert (interaction.csat_rating, interaction.csat_comment) == (2, "too slow")
        profile = crm.profiles.get(customer_id(crm_url, ADA))
        assert profile is not None and profile.csat_average == 2.0


async def test_a_skipped_csat_stores_nothing(crm_url, dispatcher, domain):
    tracker = get_tracker(slots={"csat_rating": SKIPPED, "csat_comment": SKIPPED})
    await ActionRecordCsat().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_csat_skipped"
    with crm_session(crm_url) as crm:
        assert crm.interactions.start_or_get("conversation-1").csat_rating is None


async def test_the_greeting_takes_the_tone_of_the_customers_segment(crm_url, dispatcher, domain):
    mark_valued_at_risk(crm_url, GRACE, value_rank=0.9, churn_risk=0.6)  # "loyal high spenders"
    with crm_session(crm_url) as crm:
        insight = crm.session.get(CustomerInsight, customer_id(crm_url, GRACE))
        assert insight is not None
        insight.segment = "steady customers, unhappy"
    tracker = get_tracker(
        intent="greet", text="hi", metadata={"customer_token": token_for(crm_url, GRACE)}
    )
    await ActionGreet().run(dispatcher, tracker, domain)
    assert "I'm sorry things haven't gone smoothly lately" in texts(dispatcher)
    ((kind, reason),) = decisions(crm_url)
    assert kind == "greet" and "Tone for the segment 'steady customers, unhappy'" in reason
