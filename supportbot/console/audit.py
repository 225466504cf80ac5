"""The audit trail: who did what, to what, when and from where, for the acts an investigator
needs to see (refused and locked logins, exports of many conversations, agent and token
management).

Each record goes to the `audit_trail` table and, as one line, to the log. Neither carries
personal data in clear: an agent is named by id, an unknown login email and a client address by
a keyed hash (HMAC-SHA-256 under SUPPORTBOT_AUDIT_SECRET, cut to 64 bits). The hash is stable,
so the attempts of one address or against one email can be grouped, and whoever holds the key
can check a suspected address or email against it; without the key it tells nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.keyed_hashes import keyed_hash
from supportbot.console.models import AuditEntry
from supportbot.crm.models import utc_iso, utcnow

logger = logging.getLogger(__name__)

# The operator at the server's command line (who can reach the database anyway).
COMMAND_LINE = "cli"
MAX_LISTED = 500


def pseudonym(kind: str, value: str, key: str) -> str:
    """`kind:<16 hex digits>`: a keyed hash of `value` that names it without revealing it."""
    return f"{kind}:{keyed_hash(key, f'audit {kind}', value, length=16)}"


def agent_actor(agent_id: int) -> str:
    return f"agent:{agent_id}"


@dataclass(frozen=True)
class Source:
    """Where a request came from, as the audit trail names it; the key names unknown emails."""

    name: str
    key: str

    @classmethod
    def client(cls, host: str | None, key: str) -> Source:
        return cls(pseudonym("ip", host or "unknown", key), key)

    @classmethod
    def command_line(cls, key: str) -> Source:
        return cls(COMMAND_LINE, key)


class AuditTrail:
    """The audit trail over the caller's session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        actor: str,
        action: str,
        *,
        subject: str = "",
        source: str = "",
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            at=at or utcnow(),
            actor=actor,
            action=action,
            subject=subject,
            source=source,
            details=details or {},
        )
        self.session.add(entry)
        # The details stay out of the log: an export's filters may name a customer.
        logger.info(
            "audit: %s %s%s from %s", actor, action, f" {subject}" if subject else "", source or "-"
        )
        return entry

    def recent(self, *, action: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest entries first, optionally of one action (`login.refused`, ...)."""
        query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        if action:
            query = query.where(AuditEntry.action == action)
        return [
            {
                "id": entry.id,
                "at": utc_iso(entry.at),
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "source": entry.source,
                "details": entry.details,
            }
            for entry in self.session.scalars(query.limit(min(limit, MAX_LISTED)))
        ]
