"""Agent console fixtures: a hand-made set of conversations on SQLite and PostgreSQL, agents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, text

from supportbot.console import auth
from supportbot.console.models import ConversationReview, ConversationTag, ReviewStatus
from supportbot.crm import Customer, Interaction, get_engine
from supportbot.store import crm_session, migrate
from tests.conftest import DATABASES, POSTGRES_URL

# A schema of their own, so these tests and the CRM tests never drop each other's tables.
PG_SCHEMA = "console_tests"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash with a small N (the hash string carries it); one test checks the default."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def add_conversation(
    url: str,
    sender_id: str,
    *,
    started_at: datetime,
    customer_id: int | None = None,
    intents: list[str] | None = None,
    handoff: bool = False,
    sentiment: float | None = None,
    csat: int | None = None,
    review: tuple[ReviewStatus, str] | None = None,
    tags: tuple[str, ...] = (),
    **extra: Any,
) -> None:
    with crm_session(url) as crm:
        crm.session.execute(
            insert(Interaction),
            [
                {
                    "sender_id": sender_id,
                    "customer_id": customer_id,
                    "started_at": started_at,
                    "intents": intents or [],
                    "handoff": handoff,
                    "outcome": "handoff" if handoff else "resolved",
                    "message_sentiments": [],
                    "sentiment_average": sentiment,
                    "csat_rating": csat,
                    **extra,
                }
            ],
        )
        if review:
            crm.session.add(
                ConversationReview(
                    sender_id=sender_id, status=review[0], notes=review[1], updated_at=started_at
                )
            )
        for tag in tags:
            crm.session.add(ConversationTag(sender_id=sender_id, tag=tag))


def add_customer(url: str, name: str, email: str) -> int:
    with crm_session(url) as crm:
        customer = Customer(name=name, email=email, shipping_address="")
        crm.session.add(customer)
        crm.session.flush()
        return customer.id


def add_hand_made_set(url: str) -> dict[str, int]:
    """Six conversations whose filter results the tests spell out (newest is `acb`)."""
    zoe = add_customer(url, "Zoë Quinn", "zoe.quinn@example.org")
    maxi = add_customer(url, "Max Power", "max@example.org")
    add_conversation(
        url,
        "conv-a",
        started_at=at(10),
        customer_id=zoe,
        intents=["greet", "track_order"],
        sentiment=0.5,
        csat=5,
        review=(ReviewStatus.REVIEWED, "Great answer"),
        tags=("vip",),
    )
    add_conversation(
        url,
        "conv-b",
        started_at=at(11),
        customer_id=zoe,
        intents=["complaint", "contact_human_agent"],
        handoff=True,
        sentiment=-0.6,
        csat=1,
        review=(ReviewStatus.NEEDS_TRAINING_DATA, "Wrong intent 100% of the time"),
        tags=("billing", "bug"),
    )
    # A longer intent name that starts with another must not match it.
    add_conversation(
        url, "conv-c", started_at=at(12, 0, 0), intents=["track_order_status"], sentiment=0.0
    )
    add_conversation(
        url,
        "conv-d",
        started_at=at(12, 23, 59, 59),
        customer_id=maxi,
        intents=["get_refund", "track_order"],
        sentiment=-0.25,
        csat=3,
        review=(ReviewStatus.NEW, "follow up"),
        tags=("billing",),
    )
    # '_' is a LIKE wildcard: searching "a_b" must not find "acb".
    add_conversation(url, "a_b", started_at=at(13, 11))
    add_conversation(url, "acb", started_at=at(13, 12))
    return {"zoe": zoe, "max": maxi}


def _fresh_postgres() -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{PG_SCHEMA}"
    with get_engine(POSTGRES_URL).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    migrate(url)
    return url


@pytest.fixture(
    scope="module",
    params=DATABASES,
)
def hand_made(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """(database URL, customer ids) of a fresh database holding the hand-made set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'crm.db'}"
        migrate(url)
    else:
        url = _fresh_postgres()
    customers = add_hand_made_set(url)
    yield url, customers
    if request.param == "postgresql":
        get_engine(url).dispose()
        with get_engine(POSTGRES_URL).begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))


def create_agent(url: str, email: str = "sam@support.test", name: str = "Sam") -> int:
    with crm_session(url) as crm:
        return auth.Agents(crm.session).create(email, name, PASSWORD).id
