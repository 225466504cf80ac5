"""Engines and the one session pattern: a transaction per unit of work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from supportbot.settings import get_settings

_lock = threading.Lock()
_makers: dict[str, sessionmaker[Session]] = {}


def _url(url: str | None) -> str:
    return url or get_settings().database_url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured CRM), created once per URL."""
    engine: Engine = _maker(_url(url)).kw["bind"]
    return engine


def _maker(url: str) -> sessionmaker[Session]:
    with _lock:
        if url not in _makers:
            _makers[url] = sessionmaker(bind=_create_engine(url), expire_on_commit=False)
        return _makers[url]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Actions run their database work in worker threads.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _configure(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Write-ahead log: readers never wait for the writer, and a commit appends to the
            # log instead of rewriting pages (NORMAL: durable at each checkpoint, never corrupt).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back if it raises."""
    with _maker(_url(url)).begin() as session:
        yield session
