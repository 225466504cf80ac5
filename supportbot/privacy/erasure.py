"""Erasure on request (the right to be forgotten), and the erasure log that outlives a restore.

`erase_customer` forgets a person: every tracker event of every conversation bound to them is
deleted, their email is scrubbed from any other conversation that mentions it, the examples
agents marked in those conversations leave the review file, and the CRM keeps only what the law
or the statistics need, without the person (see KEPT). `erase_conversations` does the same for
conversations alone (the retention job). `reapply_erasures` runs every logged erasure again,
after a restore of an older backup brought the data back.

Order of work, so that a failure loses nothing and a retry finishes the job: the log line first
(what must be erased, written before anything is), then the tracker store (one transaction), the
review file, then the CRM (one transaction). Until the CRM's transaction commits, the customer
still has their email, so erasing them again finds everything again; and the log line lets
`reapply_erasures` finish an erasure whatever step failed. On SQLite the erasing connections
zero what they delete and the write-ahead log is emptied after, so no bytes of it stay in the
files either.

What stays elsewhere, and for how long: backups taken before (until they expire; a restore is
followed by `reapply_erasures`); PostgreSQL's dead rows until VACUUM reclaims them; keyed hashes
of the email in `verification_failures` (24 hours at most). The Rasa server's caches are keyed so
that they never serve an erased conversation (assistant/tracker_store.py) and keep no customer
text (assistant/nlu/minilm_featurizer.py); the action server and the web app cache none.

The erasure log (`PrivacyRules.erasure_log`, `<data dir>/privacy/erasure-log.jsonl`) is a file
outside the databases, created 0600 and only ever appended to. A line holds the customer's id,
a keyed hash of their email (never the email), the erased conversations' sender ids, when, who
(`cli`, `agent:<id>`, `customer`, `retention`) and the reason's category: no name, email or text.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    column,
    delete,
    inspect,
    make_url,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.orm import Session

from common.keyed_hashes import keyed_hash
from supportbot.console.audit import AuditTrail
from supportbot.console.models import (
    ConversationReview,
    ConversationTag,
    HandoffRequest,
    HandoffState,
)
from supportbot.console.training_data import drop_conversations
from supportbot.crm.db import get_engine
from supportbot.crm.models import (
    ERASED_EMAIL_DOMAIN,
    Customer,
    CustomerProfile,
    Decision,
    Interaction,
    Order,
    Refund,
    Ticket,
    utcnow,
)
from supportbot.insights.models import CustomerInsight
from supportbot.privacy.pii import get_pii_detector
from supportbot.settings import Settings
from supportbot.store import CRM, crm_session

logger = logging.getLogger(__name__)

# Reason categories of the log (the free-text reason of a request goes to the audit trail only).
ON_REQUEST = "request"
# What the erased customer row is called from now on.
ERASED_NAME = "Erased customer"
ERASED_SUBJECT = "(erased)"
MAX_REASON_LENGTH = 300
# Sender ids per IN (...) list: SQLite allows 32,766 parameters, PostgreSQL 65,535.
_CHUNK = 500
_EMAIL_PURPOSE = "erasure log email"

# What is kept, and why: the report says it every time.
KEPT = (
    "The customer row, their orders, invoices, payments and refunds are kept as anonymised "
    "records: tax law requires keeping invoices and the orders behind them (numbers, dates, "
    "products, amounts); name, email, phone, addresses, tracking numbers and reasons are gone.",
    "Each conversation's figures are kept, no longer linked to the customer: intents, sentiment "
    "scores, CSAT rating, outcome (analytics; they say nothing about the person once unlinked).",
    "Tickets keep their kind, status and dates; their subject and description are cleared.",
    "The audit trail records that the erasure happened (customer id, who, when); the erasure log "
    "keeps the conversations' ids and a keyed hash of the email so that a restore of an older "
    "backup is erased again (`supportbot customer reapply-erasures`).",
)


class ErasureError(ValueError):
    """The erasure cannot be done (the message says what); found before anything is erased."""


class UnknownCustomer(LookupError):
    """No customer has that id (or email)."""


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure deleted, what it anonymised and kept, and why."""

    customer_id: int
    conversations: tuple[str, ...]
    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)
    kept: tuple[str, ...] = KEPT

    def lines(self) -> list[str]:
        """The report as a person reads it (the CLI prints it, the console shows it)."""
        lines = [f"Erased customer {self.customer_id}: {len(self.conversations)} conversation(s)"]
        lines += [f"  deleted: {count} {what}" for what, count in self.deleted.items() if count]
        lines += [
            f"  anonymised: {count} {what}" for what, count in self.anonymised.items() if count
        ]
        lines += [f"  kept: {reason}" for reason in self.kept]
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "conversations": len(self.conversations),
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "kept": list(self.kept),
        }


# --- the public entry points ---------------------------------------------------------------


def erase_customer(
    settings: Settings,
    customer_id: int,
    *,
    actor: str,
    reason: str,
    source: str = "",
    mask_reason: bool = True,
) -> ErasureReport:
    """Forget customer `customer_id` everywhere (see the module docstring), audited.

    `actor` is who asked (`cli`, `agent:<id>`, `customer`); `reason` the text the audit trail
    keeps, masked of personal data (a person typed it) unless `mask_reason` is False: a fixed
    text of the code's own spares the PII model's first load (seconds), as in a chat action;
    `source` the request's client as the audit trail names it.

    Raises:
        UnknownCustomer: no customer has this id.
        ErasureError: the tracker store cannot be reached, is not SQL, or is not Rasa's.
    """
    reason = " ".join(reason.split())[:MAX_REASON_LENGTH]
    if not reason:
        raise ValueError("an erasure needs a reason")
    email_key = settings.require("audit_secret")
    with crm_session(settings.database_url) as crm:
        customer = crm.customers.get(customer_id)
        if customer is None:
            raise UnknownCustomer(f"no customer has id {customer_id}")
        email = customer.email
        senders = conversations_of(crm.session, customer_id)
    tracker = _tracker_engine(settings, senders)
    _append_to_log(
        settings.privacy.erasure_log,
        {
            "customer": customer_id,
            "email_hmac": keyed_hash(email_key, _EMAIL_PURPOSE, email),
            "conversations": senders,
            "actor": actor,
            "reason": ON_REQUEST,
        },
    )
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    _erase_outside_crm(tracker, settings.review_file, senders, [email], deleted, anonymised)
    with _erasing(settings.database_url) as crm:
        _anonymise_customer(crm.session, customer_id, deleted, anonymised)
        _erase_conversation_rows(crm.session, senders, deleted, anonymised)
        AuditTrail(crm.session).record(
            actor,
            "customer.erase",
            subject=f"customer:{customer_id}",
            source=source,
            details={
                "conversations": len(senders),
                "reason": _masked(reason) if mask_reason else reason,
            },
        )
    logger.info("Erased customer %s: %d conversations", customer_id, len(senders))
    return ErasureReport(customer_id, tuple(senders), deleted, anonymised)


def erase_conversations(
    settings: Settings, sender_ids: Iterable[str], *, reason: str, actor: str = "system"
) -> int:
    """Erase these conversations (their tracker events, review-file examples and the CRM rows'
    free text; the customer stays), logged under the reason category `reason` (`retention`).
    How many conversations."""
    senders = sorted(set(sender_ids))
    if not senders:
        return 0
    tracker = _tracker_engine(settings, senders)
    _append_to_log(
        settings.privacy.erasure_log,
        {"customer": None, "conversations": senders, "actor": actor, "reason": reason},
    )
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    _erase_outside_crm(tracker, settings.review_file, senders, [], deleted, anonymised)
    with _erasing(settings.database_url) as crm:
        _erase_conversation_rows(crm.session, senders, deleted, anonymised)
    return len(senders)


def reapply_erasures(settings: Settings) -> int:
    """Run every logged erasure again (after restoring an older backup); idempotent. A logged
    customer is anonymised again only if the row under that id is still theirs (the email's
    keyed hash matches) or already erased. How many log entries."""
    entries = list(read_erasure_log(settings.privacy.erasure_log))
    if not entries:
        return 0
    email_key = settings.require("audit_secret") if any(e.get("customer") for e in entries) else ""
    senders: set[str] = set()
    customers: list[int] = []
    emails: list[str] = []
    with crm_session(settings.database_url) as crm:
        for entry in entries:
            senders.update(entry.get("conversations") or [])
            customer_id = entry.get("customer")
            if not isinstance(customer_id, int):
                continue
            customer = crm.customers.get(customer_id)
            if customer is None or _is_erased(customer):
                continue
            if keyed_hash(email_key, _EMAIL_PURPOSE, customer.email) != entry.get("email_hmac"):
                logger.warning(
                    "Erasure log: customer %s is now someone else; left as is", customer_id
                )
                continue
            customers.append(customer_id)
            emails.append(customer.email)
            # Conversations the restored backup bound to them that the log may not list.
            senders.update(conversations_of(crm.session, customer_id))
    tracker = _tracker_engine(settings, sorted(senders))
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    _erase_outside_crm(tracker, settings.review_file, sorted(senders), emails, deleted, anonymised)
    with _erasing(settings.database_url) as crm:
        for customer_id in customers:
            _anonymise_customer(crm.session, customer_id, deleted, anonymised)
        _erase_conversation_rows(crm.session, sorted(senders), deleted, anonymised)
    logger.info(
        "Re-applied %d logged erasures: %d customers, %d conversations",
        len(entries),
        len(customers),
        len(senders),
    )
    return len(entries)


def conversations_of(session: Session, customer_id: int) -> list[str]:
    """The sender ids of every conversation bound to the customer: verified as them, or holding
    one of their tickets, decisions or handoffs."""
    tickets = select(Ticket.id).where(Ticket.customer_id == customer_id)
    queries = [
        select(Interaction.sender_id).where(
            or_(Interaction.customer_id == customer_id, Interaction.handoff_ticket_id.in_(tickets))
        ),
        select(Ticket.sender_id).where(Ticket.customer_id == customer_id),
        select(Decision.sender_id).where(Decision.customer_id == customer_id),
        select(HandoffRequest.sender_id).where(HandoffRequest.ticket_id.in_(tickets)),
    ]
    found: set[str] = set()
    for query in queries:
        found.update(sender for sender in session.scalars(query) if sender)
    return sorted(found)


def unfinished(session: Session, senders: Iterable[str]) -> set[str]:
    """Which of these logged conversations the CRM still holds a link to a person or free text
    of: an erasure whose log line and tracker step were done but whose CRM transaction was not
    (a failure, a stop). Retention erases them again instead of taking the log's word."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(senders))):
        queries = [
            select(Interaction.sender_id).where(
                Interaction.sender_id.in_(chunk),
                or_(
                    Interaction.customer_id.is_not(None),
                    Interaction.verified_via.is_not(None),
                    Interaction.csat_comment.is_not(None),
                ),
            ),
            select(Ticket.sender_id).where(
                Ticket.sender_id.in_(chunk),
                or_(Ticket.subject != ERASED_SUBJECT, Ticket.description != ""),
            ),
            select(ConversationReview.sender_id).where(
                ConversationReview.sender_id.in_(chunk), ConversationReview.notes != ""
            ),
            select(HandoffRequest.sender_id).where(
                HandoffRequest.sender_id.in_(chunk), HandoffRequest.reason != ""
            ),
            select(ConversationTag.sender_id).where(ConversationTag.sender_id.in_(chunk)),
            select(Decision.sender_id).where(Decision.sender_id.in_(chunk)),
        ]
        for query in queries:
            found.update(sender for sender in session.scalars(query) if sender)
    return found


# --- the erasure log -------------------------------------------------------------------------


def _append_to_log(path: Path, entry: dict[str, Any]) -> None:
    """One JSON line, appended and synced before any data is touched."""
    line = json.dumps({"at": utcnow().isoformat(timespec="seconds"), **entry}, sort_keys=True)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a long line is written whole, never interleaved
        data = memoryview((line + "\n").encode())
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_erasure_log(path: Path) -> Iterator[dict[str, Any]]:
    """The log's entries, oldest first; a line that is not JSON (a crash mid-write) is skipped
    with a warning naming its number."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("Erasure log %s: line %d is not JSON; skipped", path, number)
                continue
            if isinstance(entry, dict):
                yield entry


# --- the tracker store and the review file --------------------------------------------------


def _erase_outside_crm(
    tracker: Engine | None,
    review_file: Path,
    senders: Sequence[str],
    emails: Sequence[str],
    deleted: dict[str, int],
    anonymised: dict[str, int],
) -> None:
    """The tracker store's events (None: it has none yet) and the review file's examples."""
    deleted["tracker events"] = 0
    anonymised["tracker events elsewhere that named the email"] = 0
    if tracker is not None:
        deleted["tracker events"], anonymised["tracker events elsewhere that named the email"] = (
            _erase_events(tracker, senders, emails)
        )
    deleted["review-file examples"] = drop_conversations(review_file, senders)


def _tracker_engine(settings: Settings, senders: Sequence[str]) -> Engine | None:
    """The tracker store's engine, or None when it has no events table yet (nothing to erase).

    Raises:
        ErasureError: it cannot be reached; or it has no events table while the CRM has
            conversations to erase. That is another store than Rasa's (a process not given
            Rasa's TRACKER_* variables reads the SQLite default): erasing would miss every
            transcript and report 0 deleted, so nothing is erased.
    """
    url = settings.tracker_store_url
    if url is None:
        raise ErasureError(
            "the tracker store is neither SQLite nor PostgreSQL (TRACKER_DIALECT): its "
            "conversations cannot be erased from here"
        )
    engine = None
    if not url.startswith("sqlite") or Path(url.split("///", 1)[-1]).exists():
        engine = get_engine(url)
        try:
            has_events = inspect(engine).has_table("events")
        except Exception as error:
            raise ErasureError(
                f"the tracker store cannot be reached ({type(error).__name__})"
            ) from None
        engine = engine if has_events else None
    if engine is None and senders:
        shown = make_url(url).render_as_string(hide_password=True)
        raise ErasureError(
            f"the tracker store {shown} holds no conversations, but the CRM has "
            f"{len(senders)} to erase: give this process Rasa's tracker store settings "
            "(TRACKER_DIALECT, TRACKER_DB, TRACKER_HOST, TRACKER_USER, TRACKER_PASSWORD); "
            "nothing was erased"
        )
    return engine


_EVENTS = table("events", column("id"), column("sender_id"), column("data"))


def _erase_events(engine: Engine, senders: Sequence[str], emails: Sequence[str]) -> tuple[int, int]:
    """Delete the conversations' events and scrub the emails from any other event, in one
    transaction; (events deleted, events scrubbed)."""
    with engine.begin() as connection:
        _zero_what_is_deleted(connection)
        removed = sum(
            _touched(connection.execute(delete(_EVENTS).where(_EVENTS.c.sender_id.in_(chunk))))
            for chunk in _chunks(senders)
        )
        scrubbed = sum(_scrub_email(connection, email) for email in emails)
    with engine.connect() as connection:
        _checkpoint(connection)
    return removed, scrubbed


def _scrub_email(connection: Connection, email: str) -> int:
    """Replace the email in events of other conversations (someone typed it there) by
    <EMAIL_ADDRESS>, as the redaction would: those conversations are not the customer's to
    erase. A full scan of the events, which an erasure can afford."""
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    like = "%" + email.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    query = select(_EVENTS.c.id, _EVENTS.c.data).where(_EVENTS.c.data.ilike(like, escape="\\"))
    rows = connection.execute(query).all()
    for row in rows:
        scrubbed = pattern.sub("<EMAIL_ADDRESS>", row.data)
        connection.execute(update(_EVENTS).where(_EVENTS.c.id == row.id).values(data=scrubbed))
    return len(rows)


def _zero_what_is_deleted(connection: Connection) -> None:
    """SQLite leaves deleted and overwritten rows' bytes in the file's free space until reused:
    this connection zeroes them instead (PRAGMA secure_delete)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")


def _checkpoint(connection: Connection) -> None:
    """Copy SQLite's write-ahead log into the database and empty it: the log holds the rows as
    they were written. It waits for readers (the busy timeout); not inside a transaction, which
    SQLite refuses (the tests' rolled-back one)."""
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is None or getattr(raw, "in_transaction", True):
        return
    busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        logger.warning("The SQLite write-ahead log is still in use: emptied at its next checkpoint")


def _touched(result: Any) -> int:
    """The rows an UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


# --- the CRM -----------------------------------------------------------------------------------


@contextmanager
def _erasing(url: str) -> Iterator[CRM]:
    """A CRM transaction whose overwritten and deleted rows leave no bytes behind (SQLite)."""
    with crm_session(url) as crm:
        _zero_what_is_deleted(crm.session.connection())
        yield crm
    with crm_session(url) as crm:
        _checkpoint(crm.session.connection())


def _is_erased(customer: Customer) -> bool:
    return customer.email == _erased_email(customer.id)


def _erased_email(customer_id: int) -> str:
    return f"erased-{customer_id}@{ERASED_EMAIL_DOMAIN}"


def _anonymise_customer(
    session: Session, customer_id: int, deleted: dict[str, int], anonymised: dict[str, int]
) -> None:
    """The customer row stays as the anonymous owner of what must be kept; the person goes,
    with their tickets' text, the assistant's decisions about them, their cached profile and
    their insights."""
    person = dict(name=ERASED_NAME, email=_erased_email(customer_id), phone=None)
    customer = update(Customer).where(Customer.id == customer_id)
    _tally(session, anonymised, "customer", customer.values(**person, shipping_address=""))
    orders = update(Order).where(Order.customer_id == customer_id)
    cleared = orders.values(shipping_address="", cancellation_reason=None, tracking_number=None)
    _tally(session, anonymised, "orders", cleared)
    refunds = update(Refund).where(Refund.customer_id == customer_id)
    _tally(session, anonymised, "refunds", refunds.values(reason=None))
    _tally(session, anonymised, "tickets", _cleared_tickets(Ticket.customer_id == customer_id))
    # A decision's reason and details can name the customer ("Greeted Ada by name").
    decisions = delete(Decision).where(Decision.customer_id == customer_id)
    _tally(session, deleted, "decisions", decisions)
    profile = delete(CustomerProfile).where(CustomerProfile.customer_id == customer_id)
    _tally(session, deleted, "cached profiles", profile)
    # What the insights run predicted about them, with its reasons (the next run has no row).
    insight = delete(CustomerInsight).where(CustomerInsight.customer_id == customer_id)
    _tally(session, deleted, "customer insights", insight)


def _erase_conversation_rows(
    session: Session, senders: Sequence[str], deleted: dict[str, int], anonymised: dict[str, int]
) -> None:
    """The CRM's and the console's rows of these conversations: free text cleared, the link to
    the person cut, what only describes the conversation deleted."""
    for chunk in _chunks(senders):
        interactions = update(Interaction).where(Interaction.sender_id.in_(chunk))
        unbound = interactions.values(
            customer_id=None, verified_via=None, verified_at=None, csat_comment=None
        )
        _tally(session, anonymised, "interactions", unbound)
        _tally(session, anonymised, "tickets", _cleared_tickets(Ticket.sender_id.in_(chunk)))
        reviews = update(ConversationReview).where(ConversationReview.sender_id.in_(chunk))
        _tally(session, anonymised, "conversation reviews", reviews.values(notes=""))
        handoffs = update(HandoffRequest).where(HandoffRequest.sender_id.in_(chunk))
        _tally(session, anonymised, "handoff requests", handoffs.values(reason=""))
        # Out of the queue: there is no transcript left to take over.
        waiting = handoffs.where(HandoffRequest.state != HandoffState.RETURNED)
        session.execute(waiting.values(state=HandoffState.RETURNED, returned_at=utcnow()))
        tags = delete(ConversationTag).where(ConversationTag.sender_id.in_(chunk))
        _tally(session, deleted, "conversation tags", tags)
        decisions = delete(Decision).where(Decision.sender_id.in_(chunk))
        _tally(session, deleted, "decisions", decisions)


def _cleared_tickets(which: Any) -> Any:
    """Clear the subject and description of the tickets `which` selects that still have text."""
    with_text = or_(Ticket.subject != ERASED_SUBJECT, Ticket.description != "")
    return update(Ticket).where(which, with_text).values(subject=ERASED_SUBJECT, description="")


def _tally(session: Session, counts: dict[str, int], what: str, statement: Any) -> None:
    """Run an UPDATE or DELETE, adding the rows it touched to `counts[what]`."""
    counts[what] = counts.get(what, 0) + _touched(session.execute(statement))


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def _masked(reason: str) -> str:
    """The reason with any personal data in it masked (an agent may write the customer's name)."""
    return get_pii_detector().redact(reason)


__all__ = [
    "KEPT",
    "ErasureError",
    "ErasureReport",
    "UnknownCustomer",
    "conversations_of",
    "erase_conversations",
    "erase_customer",
    "read_erasure_log",
    "reapply_erasures",
    "unfinished",
]
