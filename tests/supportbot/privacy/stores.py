"""A CRM and a tracker store of their own, for the jobs that work on whole databases (retention,
backup and restore): fresh SQLite files, or empty PostgreSQL databases (made on the server
SUPPORTBOT_TEST_POSTGRES_URL names, emptied for each test, dropped at the session's end),
migrated, with the demo customers Ada and Grace, and conversations added with the moments a test
gives them.

The rolled-back transactions of tests/db.py do not fit here: pg_dump, SQLite's backup API and
Rasa's tracker table live outside any one connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    make_url,
    select,
)
from sqlalchemy import text as sql

from supportbot.console.models import ConversationTag
from supportbot.crm import db as crm_db
from supportbot.crm.models import Customer, Interaction
from supportbot.crm.seed import seed_demo_data
from supportbot.settings import Settings
from supportbot.store import crm_session, migrate
from tests.db import POSTGRES_URL
from tests.stack import free_port

# Rasa's tracker table, as SQLTrackerStore creates it (rasa/core/tracker_store.py, SQLEvent).
TRACKER_METADATA = MetaData()
EVENTS = Table(
    "events",
    TRACKER_METADATA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class Stores:
    """The settings of one CRM and one tracker store, and what a test writes into them."""

    settings: Settings
    # The variables `settings` was read from, for tests of the command line.
    env: dict[str, str]

    @property
    def crm_url(self) -> str:
        return self.settings.database_url

    @property
    def tracker_url(self) -> str:
        url = self.settings.tracker_store_url
        assert url is not None
        return url

    def add_conversation(
        self, sender_id: str, at: datetime, said: str, *, email: str | None = None, keep=False
    ) -> None:
        """A conversation whose every moment is `at`: its interaction (with a CSAT comment that
        repeats what the customer said) and its tracker events."""
        with crm_session(self.crm_url) as crm:
            customer = crm.customers.find_by_email(email) if email else None
            crm.session.add(
                Interaction(
                    sender_id=sender_id,
                    customer_id=customer.id if customer else None,
                    started_at=at,
                    ended_at=at,
                    intents=["greet"],
                    csat_rating=4,
                    csat_comment=said,
                    csat_at=at,
                )
            )
            if keep:
                crm.session.flush()
                crm.session.add(ConversationTag(sender_id=sender_id, tag="keep"))
        moment = at.timestamp()
        engine = create_engine(self.tracker_url)
        try:
            with engine.begin() as connection:
                TRACKER_METADATA.create_all(connection)
                connection.execute(
                    EVENTS.insert(),
                    [
                        _event(sender_id, "user", moment, {"event": "user", "text": said}),
                        _event(sender_id, "bot", moment + 1, {"event": "bot", "text": "Thanks!"}),
                    ],
                )
        finally:
            engine.dispose()

    def tracker_senders(self) -> set[str]:
        engine = create_engine(self.tracker_url)
        try:
            with engine.connect() as connection:
                return set(connection.scalars(select(EVENTS.c.sender_id).distinct()))
        finally:
            engine.dispose()

    def tracker_text(self) -> str:
        engine = create_engine(self.tracker_url)
        try:
            with engine.connect() as connection:
                return "\n".join(connection.scalars(select(EVENTS.c.data)))
        finally:
            engine.dispose()

    def csat_comments(self) -> dict[str, str | None]:
        with crm_session(self.crm_url) as crm:
            rows = crm.session.execute(select(Interaction.sender_id, Interaction.csat_comment))
            return {sender_id: comment for sender_id, comment in rows}

    def customer_emails(self) -> set[str]:
        with crm_session(self.crm_url) as crm:
            return set(crm.session.scalars(select(Customer.email)))


def _event(sender_id: str, kind: str, moment: float, data: dict[str, object]) -> dict[str, object]:
    return {
        "sender_id": sender_id,
        "type_name": kind,
        "timestamp": moment,
        "data": json.dumps({**data, "timestamp": moment}),
    }


@contextmanager
def fresh_stores(
    backend: str, directory: Path, *, tracker_backend: str | None = None, seeded: bool = True
) -> Iterator[Stores]:
    """Empty databases of `backend` (the tracker's may differ: a mixed setup), migrated and
    seeded with Ada and Grace unless `seeded` is False (then left empty: a restore's target)."""
    taken: list[str] = []
    try:
        crm_url = _database(backend, directory, "crm", taken)
        tracker_url = _database(tracker_backend or backend, directory, "tracker", taken)
        if seeded:
            migrate(crm_url)
            with crm_session(crm_url) as crm:
                seed_demo_data(crm.session, customers=0)
        env = _environment(crm_url, tracker_url, directory)
        yield Stores(Settings.from_env(env), env)
    finally:
        for url in taken:
            if url in crm_db._makers:
                crm_db.get_engine(url).dispose()
            _free.append(url)


# PostgreSQL databases of this session not in use. Emptying one (its schema dropped and made
# again) takes milliseconds where DROP DATABASE takes seconds (a checkpoint each).
_free: list[str] = []
_made: list[str] = []


def _database(backend: str, directory: Path, role: str, taken: list[str]) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / f'{role}-{uuid.uuid4().hex[:8]}.db'}"
    if _free:
        url = _free.pop()
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(sql("DROP SCHEMA public CASCADE"))
                connection.execute(sql("CREATE SCHEMA public"))
        finally:
            engine.dispose()
    else:
        name = f"supportbot_privacy_{uuid.uuid4().hex[:8]}"
        _on_server(f"CREATE DATABASE {name}")
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        _made.append(url)
    taken.append(url)
    return url


def drop_databases() -> None:
    """At the end of the session: every PostgreSQL database these tests made."""
    while _made:
        _on_server(f"DROP DATABASE IF EXISTS {make_url(_made.pop()).database} WITH (FORCE)")
    _free.clear()


def _on_server(statement: str) -> None:
    """CREATE or DROP DATABASE, which cannot run inside a transaction."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sql(statement))
    finally:
        admin.dispose()


def _environment(crm_url: str, tracker_url: str, directory: Path) -> dict[str, str]:
    tracker = make_url(tracker_url)
    if tracker.get_backend_name() == "sqlite":
        tracker_env = {"TRACKER_DIALECT": "sqlite", "TRACKER_DB": tracker.database or ""}
    else:
        tracker_env = {
            "TRACKER_DIALECT": "postgresql",
            "TRACKER_HOST": f"{tracker.host}:{tracker.port or 5432}",
            "TRACKER_DB": tracker.database or "",
            "TRACKER_USER": tracker.username or "",
            "TRACKER_PASSWORD": tracker.password or "",
        }
    data_dir = directory / f"data-{uuid.uuid4().hex[:8]}"
    # Ports nothing listens on: a restore refuses to run beside a live stack.
    return {
        "SUPPORTBOT_DATA_DIR": str(data_dir),
        "SUPPORTBOT_DATABASE_URL": crm_url,
        "SUPPORTBOT_RASA_URL": f"http://127.0.0.1:{free_port()}",
        "SUPPORTBOT_WEB_PORT": str(free_port()),
        "SUPPORTBOT_ACTION_PORT": str(free_port()),
        # Erasing a customer logs a keyed hash of their email.
        "SUPPORTBOT_AUDIT_SECRET": "audit-secret-for-privacy-tests-0123456789",
        **tracker_env,
    }
