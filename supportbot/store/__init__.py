"""The store as a whole: every repository over one transaction, and the schema's migrations.

The CRM, the knowledge base and the agent console keep their tables in one database. Each
package owns its own models and repositories; this module, above all three, composes them, so
that none of them imports another to reach a table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

# Every model module, so that Base.metadata knows every table (migrations, tests).
import supportbot.console.models
import supportbot.insights.models
import supportbot.kb.models  # noqa: F401
from supportbot.console.takeover import HandoffQueue
from supportbot.crm.db import get_engine, session_scope
from supportbot.crm.repositories import (
    Customers,
    Decisions,
    Interactions,
    Invoices,
    Orders,
    Profiles,
    Refunds,
    Tickets,
)
from supportbot.crm.verification_guard import VerificationGuard
from supportbot.kb.repository import Articles

MIGRATIONS = Path(__file__).with_name("migrations")


class CRM:
    """The repositories over one session: what an action, a request or a command works on."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.customers = Customers(session)
        self.orders = Orders(session)
        self.invoices = Invoices(session)
        self.refunds = Refunds(session)
        self.tickets = Tickets(session)
        self.interactions = Interactions(session)
        self.decisions = Decisions(session)
        self.profiles = Profiles(session)
        self.articles = Articles(session)
        self.handoffs = HandoffQueue(session)
        self.verification_guard = VerificationGuard(session)


@contextmanager
def crm_session(url: str | None = None) -> Iterator[CRM]:
    """The store inside one transaction: committed if the block succeeds, rolled back if not."""
    with session_scope(url) as session:
        yield CRM(session)


def migrate(url: str | None = None) -> None:
    """Bring the schema up to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = get_engine(url)
    command.upgrade(config, "head")


__all__ = ["CRM", "MIGRATIONS", "crm_session", "migrate"]
