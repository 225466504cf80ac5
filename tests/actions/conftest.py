"""Action test helpers: trackers as Rasa sends them, and assertions on dispatched messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from supportbot.identity import issue_customer_token
from supportbot.insights.models import CustomerInsight, InsightRun
from supportbot.store import crm_session
from tests.conftest import IDENTITY_SECRET


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def customer_id(url: str, email: str) -> int:
    with crm_session(url) as crm:
        customer = crm.customers.find_by_email(email)
        assert customer is not None
        return customer.id


def token_for(
    url: str,
    email: str,
    *,
    secret: str = IDENTITY_SECRET,
    ttl: int = 600,
    issued_at: float | None = None,
) -> str:
    return issue_customer_token(
        customer_id(url, email), secret=secret, ttl_seconds=ttl, now=issued_at
    )


def get_tracker(
    *,
    sender_id: str = "conversation-1",
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker as the Rasa server would send it, with one latest customer message."""
    latest = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "text": text,
        "metadata": metadata or {},
    }
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}
    return Tracker.from_dict(
        {
            "sender_id": sender_id,
            "slots": {**(slots or {})},
            "latest_message": latest,
            "events": [*(events or []), user_event],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


def texts(dispatcher: CollectingDispatcher) -> str:
    """Everything the actions said, joined, for assertions."""
    return "\n".join(
        str(message.get("text") or message.get("response") or "") for message in dispatcher.messages
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The project's real domain, as the Rasa server sends it to the action server."""
    import yaml

    return yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text())


def with_new_slots(tracker: Tracker, **slots: Any) -> Tracker:
    """The tracker as a form sees it right after Rasa extracted `slots` from a message."""
    state = tracker.current_state()
    state["events"] = [
        *state["events"],
        *({"event": "slot", "name": name, "value": value} for name, value in slots.items()),
    ]
    state["slots"] = {**state["slots"], **slots}
    return Tracker.from_dict(state)


def mark_valued_at_risk(url: str, email: str, *, value_rank: float, churn_risk: float) -> None:
    """What `supportbot insights run` stores for the customer (one finished run)."""
    with crm_session(url) as crm:
        customer = crm.customers.find_by_email(email)
        assert customer is not None
        run = InsightRun(status="finished", versions={}, summary={})
        crm.session.add(run)
        crm.session.flush()
        crm.session.merge(
            CustomerInsight(
                customer_id=customer.id,
                run_id=run.id,
                segment="loyal high spenders",
                churn_risk=churn_risk,
                value_rank=value_rank,
                reasons={"churn": ["no purchase for 120 days (raises churn risk)"]},
            )
        )
