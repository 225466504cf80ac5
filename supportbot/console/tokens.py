"""Scoped API tokens: what a script (the `supportbot agent` commands) uses instead of a console
login.

Only an admin issues one, to a named agent, for named scopes and a limited time; the token then
acts as that agent, so the takeover rules hold as in the console (nothing is written into a
conversation the agent has not claimed). Only its SHA-256 is stored; it can be revoked. Issuing
and revoking are audited.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.console.audit import AuditTrail, Source, agent_actor
from supportbot.console.auth import AgentError, CurrentAgent, hash_token
from supportbot.console.models import Agent, AgentRole, AgentToken
from supportbot.crm.models import as_utc, utc_iso, utcnow

# Recognisable in a leaked file or a secret scanner; the rest is 256 random bits.
TOKEN_PREFIX = "sbt_"
MAX_TOKEN_DAYS = 90
MAX_LABEL_LENGTH = 80
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class Scope(enum.StrEnum):
    # The queue, claiming, the live view, replying and handing back (claims still decide).
    TAKEOVER = "takeover"
    # The conversation list, transcripts, one conversation's export, reviews, analytics.
    READ = "conversations:read"
    # Exports of many conversations at once: the token's agent must be an admin as well.
    EXPORT = "conversations:export"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: shown once, stored only as its hash."""

    id: int
    token: str
    agent_id: int
    scopes: tuple[str, ...]
    expires_at: datetime


def parse_scopes(names: list[str] | tuple[str, ...]) -> tuple[Scope, ...]:
    if not names:
        raise AgentError(f"name at least one scope: {', '.join(s.value for s in Scope)}")
    try:
        return tuple(sorted({Scope(name.strip()) for name in names}))
    except ValueError:
        raise AgentError(
            f"unknown scope; the scopes are: {', '.join(s.value for s in Scope)}"
        ) from None


class AgentTokens:
    """The tokens over the caller's session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.audit = AuditTrail(session)

    def issue(
        self,
        agent: Agent,
        scopes: list[str] | tuple[str, ...],
        *,
        days: int,
        issued_by: CurrentAgent,
        source: Source,
        label: str = "",
    ) -> IssuedToken:
        """A token for `agent`; `issued_by` must be an admin."""
        if not issued_by.is_admin:
            raise PermissionError("only an admin can issue API tokens")
        chosen = parse_scopes(scopes)
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AgentError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
        if not agent.active:
            raise AgentError("that agent is disabled")
        if Scope.EXPORT in chosen and agent.role is not AgentRole.ADMIN:
            raise AgentError(f"only an admin's token can have the scope {Scope.EXPORT.value}")
        label = label.strip()[:MAX_LABEL_LENGTH]
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        row = AgentToken(
            agent_id=agent.id,
            token_hash=hash_token(token),
            scopes=" ".join(chosen),
            label=label,
            created_by=issued_by.id,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        self.session.add(row)
        self.session.flush()
        self.audit.record(
            agent_actor(issued_by.id),
            "token.issue",
            subject=f"token:{row.id}",
            source=source.name,
            details={"agent": agent.id, "scopes": list(chosen), "days": days, "label": label},
        )
        return IssuedToken(row.id, token, agent.id, tuple(chosen), as_utc(row.expires_at))

    def revoke(self, token_id: int, *, revoked_by: CurrentAgent, source: Source) -> None:
        if not revoked_by.is_admin:
            raise PermissionError("only an admin can revoke API tokens")
        row = self.session.get(AgentToken, token_id)
        if row is None:
            raise AgentError("no such token")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        self.audit.record(
            agent_actor(revoked_by.id),
            "token.revoke",
            subject=f"token:{token_id}",
            source=source.name,
            details={"agent": row.agent_id},
        )

    def listed(self) -> list[dict[str, Any]]:
        """Every token, newest first: never the token, only what it is for."""
        rows = self.session.execute(
            select(AgentToken, Agent.email)
            .join(Agent, Agent.id == AgentToken.agent_id)
            .order_by(AgentToken.id.desc())
        ).all()
        now = utcnow()
        return [
            {
                "id": row.id,
                "agent": {"id": row.agent_id, "email": email},
                "scopes": row.scopes.split(),
                "label": row.label,
                "created_by": row.created_by,
                "created_at": utc_iso(row.created_at),
                "expires_at": utc_iso(row.expires_at),
                "revoked_at": utc_iso(row.revoked_at),
                "last_used_at": utc_iso(row.last_used_at),
                "live": row.revoked_at is None and as_utc(row.expires_at) > now,
            }
            for row, email in rows
        ]

    def authenticate(self, token: str | None) -> CurrentAgent | None:
        """The agent a live token acts as, limited to its scopes; None if unknown, expired,
        revoked or the agent is disabled."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        found = self.session.execute(
            select(AgentToken, Agent)
            .join(Agent, Agent.id == AgentToken.agent_id)
            .where(AgentToken.token_hash == hash_token(token))
        ).one_or_none()
        if found is None:
            return None
        row, agent = found
        now = utcnow()
        if row.revoked_at is not None or as_utc(row.expires_at) <= now or not agent.active:
            return None
        if row.last_used_at is None or now - as_utc(row.last_used_at) >= _LAST_USED_RESOLUTION:
            row.last_used_at = now
        return CurrentAgent(
            id=agent.id,
            email=agent.email,
            name=agent.name,
            session_expires_at=as_utc(row.expires_at),
            role=agent.role,
            scopes=frozenset(row.scopes.split()),
        )
