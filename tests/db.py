"""The suite's one database pattern: each test in a transaction that is rolled back afterwards.

Once per session and backend a database is migrated and seeded: a SQLite file, and, when
SUPPORTBOT_TEST_POSTGRES_URL names a server, a schema of its own in that database (so no other
suite's tables are touched). Every test that uses it runs on one connection inside one outer
transaction, rolled back after the test whatever it committed (SQLAlchemy's "joining a Session
into an external transaction" recipe):

- `crm`: the store over a session joined to that transaction;
- `crm_url` (tests/conftest.py), on `database_url`: the database's URL, with the application's
  sessionmaker for it (`supportbot.crm.db._makers[url]`) bound to that connection with
  `join_transaction_mode="create_savepoint"`, so each `session_scope(url)` / `crm_session(url)`
  of the code under test, in worker threads as well, is a savepoint inside the test's transaction.
  (`get_engine(url)` then returns the connection: use `db_connection` to inspect the schema.)

The code under test uses the connection from one thread at a time (actions and web requests run
their database work in a worker thread while the test waits); a guard fails the test if two
threads ever use it at once. Tests that need connections of their own that see each other's
commits (claims racing in threads, concurrent requests) are marked `committed`: their
`database_url` is a second database with the same content whose transactions really commit,
emptied and seeded again after each of them.

Every database fixture is parametrised over SQLite and PostgreSQL (PostgreSQL is skipped, saying
why, when SUPPORTBOT_TEST_POSTGRES_URL is unset); `@sqlite_only` keeps a test whose cost is not
the database's to SQLite.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, delete, event, text
from sqlalchemy.orm import Session, sessionmaker

from supportbot.crm import db as crm_db
from supportbot.crm.models import Base
from supportbot.crm.seed import seed_demo_data
from supportbot.kb.seed import seed_articles
from supportbot.store import CRM, crm_session, migrate

POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", "")
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="SUPPORTBOT_TEST_POSTGRES_URL unset"),
        ],
    ),
]
# For a test whose cost is not the database's (a real model over every article, say) and whose
# database work other tests cover on both backends: SQLite only.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# Thirty customers besides the two documented ones (Ada and Grace).
SEED_CUSTOMERS = 30


@dataclass(frozen=True)
class Database:
    url: str
    # The tests' own engine for `url`: the application's settings, and on SQLite transactions
    # that really begin, so that savepoints nest in them.
    engine: Engine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "committed: the test needs connections of its own that see each other's commits (threads "
        "racing, concurrent requests): it runs on a copy whose transactions commit, restored after",
    )


# --- the databases, once per session and backend -------------------------------------------


@pytest.fixture(scope="session", params=DATABASES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def seeded_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Migrated, with the demo CRM and the articles of data/kb; never written to for good."""
    with _database(backend, "seeded", tmp_path_factory.mktemp("db")) as database:
        _seed(database.url)
        yield database


@pytest.fixture(scope="session")
def committed_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The same content, for the tests marked `committed` (restored after each of them)."""
    with _database(backend, "committed", tmp_path_factory.mktemp("db")) as database:
        _seed(database.url)
        yield database


def _seed(url: str) -> None:
    with crm_session(url) as crm:
        # Conversations and tickets are the tests' own (they count them).
        seed_demo_data(crm.session, customers=SEED_CUSTOMERS, support_history=False)
        seed_articles(crm.session)


@contextmanager
def _database(backend: str, name: str, directory: Path) -> Iterator[Database]:
    if backend == "sqlite":
        url = f"sqlite:///{directory / f'{name}.db'}"
        with _engines(url, _sqlite_engine(url)) as database:
            yield database
        return
    schema = f"supportbot_tests_{name}"
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    admin = create_engine(POSTGRES_URL)
    try:
        # Dropped first too: left over by an interrupted run, or by another version of the schema.
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        with _engines(url, crm_db._create_engine(url)) as database:
            yield database
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


@contextmanager
def _engines(url: str, engine: Engine) -> Iterator[Database]:
    """The database at `url`, migrated; the tests' engine and the application's closed after."""
    _one_thread_at_a_time(engine)
    try:
        migrate(url)
        yield Database(url, engine)
    finally:
        engine.dispose()
        crm_db.get_engine(url).dispose()


def _sqlite_engine(url: str) -> Engine:
    """pysqlite only begins a transaction before a write, so a savepoint taken first would begin
    (and its release commit) the real one: the SQLAlchemy documentation's remedy, BEGIN emitted
    by SQLAlchemy itself ("Serializable isolation / Savepoints / Transactional DDL")."""
    engine = crm_db._create_engine(url)

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def _one_thread_at_a_time(engine: Engine) -> None:
    """Fail loudly, rather than corrupt the test's transaction, if two threads share it at once."""
    lock = threading.Lock()
    owner: list[int] = []

    def enter(*_: Any) -> None:
        if not lock.acquire(blocking=False):
            raise RuntimeError(
                "two threads used the test's database connection at once: "
                "mark the test `committed` (tests/db.py)"
            )
        owner.append(threading.get_ident())

    def leave(*_: Any) -> None:
        if owner and owner[-1] == threading.get_ident():
            owner.pop()
            lock.release()

    event.listen(engine, "before_cursor_execute", enter)
    event.listen(engine, "after_cursor_execute", leave)
    event.listen(engine, "handle_error", leave)


# --- each test's transaction ---------------------------------------------------------------


@pytest.fixture
def db_connection(seeded_database: Database) -> Iterator[Connection]:
    """The test's connection, in a transaction rolled back after the test; the application's
    sessions for the seeded database's URL are savepoints in it."""
    with rolled_back(seeded_database) as connection:
        yield connection


@contextmanager
def rolled_back(database: Database) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back at the end; until then the application's
    sessions for `database.url` are savepoints in it (the same configuration otherwise)."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        own = crm_db._maker(database.url)
        crm_db._makers[database.url] = sessionmaker(
            **{**own.kw, "bind": connection, "join_transaction_mode": "create_savepoint"}
        )
        try:
            yield connection
        finally:
            crm_db._makers[database.url] = own
            transaction.rollback()


@pytest.fixture
def crm(db_connection: Connection) -> Iterator[CRM]:
    """The store in the test's transaction (flushes are seen by the code under test)."""
    session = Session(bind=db_connection, join_transaction_mode="create_savepoint")
    try:
        yield CRM(session)
    finally:
        session.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """The URL the code under test opens its sessions on: the seeded database, in the test's
    transaction; for a test marked `committed`, the committed database, restored after.
    (`backend` parametrises it; which database follows the marker.)"""
    if request.node.get_closest_marker("committed") is None:
        request.getfixturevalue("db_connection")
        yield request.getfixturevalue("seeded_database").url
        return
    database: Database = request.getfixturevalue("committed_database")
    try:
        yield database.url
    finally:
        with crm_session(database.url) as crm:
            for table in reversed(Base.metadata.sorted_tables):
                crm.session.execute(delete(table))
        _seed(database.url)
