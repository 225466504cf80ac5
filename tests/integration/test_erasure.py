"""Issue 16's erasure test on the real stack: a seeded customer chats over three conversations
(verified by order number and email in each: a handoff, a CSAT comment), an agent adds notes, a
tag, a ticket and a review-file example; then the customer is erased, and their email, name and
every phrase they typed are found nowhere: not in any table of the CRM or the tracker store (their
text, and the SQLite files' bytes), the stack's logs, the review file or the erasure log.

SQLite is the stack's own databases. PostgreSQL gets the same rows: copied, before the erasure,
into a CRM and a tracker store of its own (a second stack would cost `make test` a minute or two
for the same erasure code), and erased there the same way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, create_engine, select, text

from supportbot.console.models import ConversationReview, ConversationTag, ReviewStatus
from supportbot.console.training_data import add_example
from supportbot.crm.models import Base, TicketKind
from supportbot.privacy.erasure import erase_customer
from supportbot.settings import PrivacyRules, Settings, scaled_environment
from supportbot.store import crm_session, migrate
from tests.stack import AUDIT_SECRET, POSTGRES_URL, Stack, _postgres_database, seeded_customer
from tests.supportbot.privacy.conftest import TRACKER_METADATA

pytestmark = pytest.mark.integration

# A seeded customer no other test on the shared stack verifies as.
CUSTOMER_INDEX = 12
SENDERS = ("it-erase-0001", "it-erase-0002", "it-erase-0003")
# What the customer types, an agent notes, a ticket says: words found nowhere else.
TYPED = (
    "my parcel for the Quillfeather cottage never arrived",
    "the Quillfeather courier was rude to me",
    "please ring me about the Quillfeather order",
)
NOTE = "angry about the Quillfeather delivery, wants a call back"


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text") or "" for message in messages)


def verify(stack: Stack, sender: str, email: str, order: int) -> None:
    stack.say(sender, "where is my order?")
    stack.say(sender, str(order))
    assert "you're verified" in texts(stack.say(sender, email))


@pytest.fixture(scope="module")
def chatted(stack: Stack) -> Iterator[tuple[Customer, Settings | None]]:
    """The customer's conversations and everything agents added; with SUPPORTBOT_TEST_POSTGRES_URL
    set, a PostgreSQL copy of both databases taken before anything is erased (its settings)."""
    email, order = seeded_customer(stack.crm_url, CUSTOMER_INDEX)
    with crm_session(stack.crm_url) as crm:
        row = crm.customers.find_by_email(email)
        assert row is not None
        customer = Customer(row.id, row.name, row.email)

    first, second, third = SENDERS
    verify(stack, first, email, order)
    stack.say(first, TYPED[0])
    verify(stack, second, email, order)
    assert "connecting you with a person" in texts(stack.say(second, "I want to talk to a human"))
    verify(stack, third, email, order)
    assert "how would you rate" in texts(stack.say(third, "that's all, bye"))
    stack.say(third, '/inform{"csat_rating": "2"}')
    assert "Thanks for your feedback" in texts(stack.say(third, TYPED[1]))
    with crm_session(stack.crm_url) as crm:
        crm.tickets.open(
            kind=TicketKind.COMPLAINT,
            subject=f"Call back {customer.name}",
            description=TYPED[2],
            customer_id=customer.id,
            sender_id=first,
        )
        crm.session.add(
            ConversationReview(sender_id=first, status=ReviewStatus.REVIEWED, notes=NOTE)
        )
        crm.session.add(ConversationTag(sender_id=second, tag="quillfeather"))
    add_example(
        stack.web_settings().review_file,
        "order_status",
        TYPED[0],
        agent_id=1,
        agent_name="Sam",
        sender_id=first,
        masked=stack.web_settings().privacy.stored_entities,
    )
    if not POSTGRES_URL:
        yield customer, None
        return
    with (
        _postgres_database("erasure_crm") as crm_url,
        _postgres_database("erasure_tracker") as tracker_url,
    ):
        yield customer, _postgres_copy(stack, crm_url, tracker_url)


def _postgres_copy(stack: Stack, crm_url: str, tracker_url: str) -> Settings:
    """The stack's CRM and tracker store, row for row, in PostgreSQL databases."""
    migrate(crm_url)
    source, target = create_engine(stack.crm_url), create_engine(crm_url)
    _copy(source, target, Base.metadata)
    with target.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                    )
                )
    tracker_source, tracker_target = (
        create_engine(f"sqlite:///{stack.tracker_db}"),
        create_engine(tracker_url),
    )
    TRACKER_METADATA.create_all(tracker_target)
    _copy(tracker_source, tracker_target, TRACKER_METADATA)
    for engine in (source, target, tracker_source, tracker_target):
        engine.dispose()
    tracker = {
        k: v for k, v in scaled_environment(tracker_url, "", 1).items() if k.startswith("TRACKER_")
    }
    return Settings(
        data_dir=stack.work / "postgres",
        database_url=crm_url,
        review_file=stack.work / "postgres" / "nlu_review.yml",
        audit_secret=AUDIT_SECRET,
        rasa_environment=tracker,
        privacy=PrivacyRules(erasure_log=stack.work / "postgres" / "erasure-log.jsonl"),
    )


def _copy(source: Engine, target: Engine, metadata: MetaData) -> None:
    with source.connect() as reading, target.begin() as writing:
        for table in metadata.sorted_tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(table.insert(), rows)


def database_text(url: str) -> str:
    """Every row of every table of the database, as text."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in connection.execute(select(table))
            )
    finally:
        engine.dispose()


def file_bytes(*paths: Path) -> str:
    """The files (SQLite's with their write-ahead logs) as they lie on disk."""
    found = [p for path in paths for p in path.parent.glob(path.name + "*") if p.is_file()]
    return b"\n".join(p.read_bytes() for p in found).decode("utf-8", "replace")


def assert_found_nowhere(customer: Customer, haystacks: dict[str, str]) -> None:
    needles = (customer.email, customer.name, *TYPED, NOTE)
    found = [
        f"{needle!r} in {where}"
        for where, haystack in haystacks.items()
        for needle in needles
        if needle.casefold() in haystack.casefold()
    ]
    assert found == []


def test_an_erased_customer_is_found_nowhere_on_sqlite(
    stack: Stack, chatted: tuple[Customer, Settings | None]
) -> None:
    customer, _ = chatted
    settings = stack.web_settings()
    # What is searched for afterwards is there to be found before.
    crm_before = database_text(stack.crm_url)
    assert customer.email in crm_before and TYPED[1] in crm_before and NOTE in crm_before
    assert TYPED[0] in database_text(settings.tracker_store_url or "")

    report = erase_customer(settings, customer.id, actor="cli", reason="asked by letter")

    assert set(SENDERS) <= set(report.conversations)
    assert report.deleted["tracker events"] > 30
    assert report.deleted["review-file examples"] == 1
    logs = sorted(stack.work.glob("*.log"))
    assert logs
    assert_found_nowhere(
        customer,
        {
            "the CRM's tables": database_text(stack.crm_url),
            "the tracker store's tables": database_text(settings.tracker_store_url or ""),
            "the CRM's files": file_bytes(stack.work / "crm.db"),
            "the tracker store's files": file_bytes(stack.tracker_db),
            "the review file": settings.review_file.read_text(encoding="utf-8"),
            "the erasure log": settings.privacy.erasure_log.read_text(encoding="utf-8"),
            **{f"the log {log.name}": log.read_text(encoding="utf-8") for log in logs},
        },
    )
    # Rasa serves nothing of it either (its in-memory state included).
    for sender in SENDERS:
        assert TYPED[0] not in str(stack.tracker(sender))


@pytest.mark.postgres
def test_an_erased_customer_is_found_nowhere_on_postgresql(
    chatted: tuple[Customer, Settings | None],
) -> None:
    customer, settings = chatted
    if settings is None:
        pytest.skip("SUPPORTBOT_TEST_POSTGRES_URL unset")
    assert settings.tracker_store_url and TYPED[0] in database_text(settings.tracker_store_url)

    report = erase_customer(settings, customer.id, actor="cli", reason="asked by letter")

    assert set(SENDERS) <= set(report.conversations)
    assert_found_nowhere(
        customer,
        {
            "the CRM's tables": database_text(settings.database_url),
            "the tracker store's tables": database_text(settings.tracker_store_url),
            "the erasure log": settings.privacy.erasure_log.read_text(encoding="utf-8"),
        },
    )
