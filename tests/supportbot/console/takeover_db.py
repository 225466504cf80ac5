"""Databases for the takeover tests: a migrated SQLite file, or a PostgreSQL schema of their own
(so these tests never drop another suite's tables), and conversations handed to a person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import delete, text

from supportbot.console import auth
from supportbot.console.models import AgentSession, HandoffRequest
from supportbot.crm import Customer, TicketKind, get_engine
from supportbot.store import crm_session, migrate
from tests.conftest import POSTGRES_URL

PG_SCHEMA = "takeover_tests"
PASSWORD = "correct horse battery"
AGENTS = {"sam": ("sam@support.test", "Sam Lee"), "alex": ("alex@support.test", "Alex Kim")}


def database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, migrated CRM with two agents and a customer; dropped afterwards (PostgreSQL)."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'crm.db'}"
    else:
        separator = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{PG_SCHEMA}"
        _drop_schema()
        with get_engine(POSTGRES_URL).begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    migrate(url)
    with crm_session(url) as crm:
        for email, name in AGENTS.values():
            auth.Agents(crm.session).create(email, name, PASSWORD)
        crm.session.add(Customer(name="Zoë Quinn", email="zoe@example.org", shipping_address=""))
    yield url
    if kind == "postgresql":
        get_engine(url).dispose()
        _drop_schema()


def _drop_schema() -> None:
    with get_engine(POSTGRES_URL).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


def empty_queue(url: str) -> None:
    """Each test starts with an empty queue and no one signed in."""
    with crm_session(url) as crm:
        crm.session.execute(delete(HandoffRequest))
        crm.session.execute(delete(AgentSession))


def agent_id(url: str, who: str) -> int:
    with crm_session(url) as crm:
        agent = auth.Agents(crm.session).find_by_email(AGENTS[who][0])
        assert agent is not None
        return agent.id


def customer_id(url: str) -> int:
    with crm_session(url) as crm:
        customer = crm.customers.find_by_email("zoe@example.org")
        assert customer is not None
        return customer.id


def hand_over(
    url: str,
    sender_id: str,
    *,
    reason: str = "The customer asked for a person.",
    customer_id: int | None = None,
) -> None:
    """What actions.handoff.open_handoff records: a handoff ticket, the mark, the queue row."""
    with crm_session(url) as crm:
        crm.interactions.start_or_get(sender_id).customer_id = customer_id
        ticket = crm.tickets.open(
            kind=TicketKind.HANDOFF,
            subject="Customer asked for a human agent",
            description=f"Transcript: conversation {sender_id}.",
            customer_id=customer_id,
            sender_id=sender_id,
            priority="high",
        )
        crm.interactions.mark_handoff(sender_id, ticket)
        crm.handoffs.request(sender_id, reason=reason, ticket=ticket)
