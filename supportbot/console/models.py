"""The agent console's tables, on the CRM's metadata: agents, their sessions and scoped API
tokens, the audit trail of their sensitive acts, reviews, tags and the queue of conversations
waiting for a person."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supportbot.crm.models import Base, Interaction, _enum, utcnow


class ReviewStatus(enum.StrEnum):
    NEW = "new"
    REVIEWED = "reviewed"
    NEEDS_TRAINING_DATA = "needs_training_data"


class AgentRole(enum.StrEnum):
    AGENT = "agent"
    # Also manages agents and tokens, and exports more than one conversation at a time.
    ADMIN = "admin"


class Agent(Base):
    """A support agent who can sign in to the console."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    # An argon2id PHC string, or the older "scrypt$n$r$p$salt$hash" until the agent's next
    # login rehashes it (see supportbot.console.auth): never the password itself.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    role: Mapped[AgentRole] = mapped_column(
        _enum(AgentRole), default=AgentRole.AGENT, server_default=AgentRole.AGENT.value
    )
    # The login lockout, here so every worker sees it: failures since `failures_since` (the
    # window's start), and the moment the account opens again after too many.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failures_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentSession(Base):
    """A signed-in browser. Only a SHA-256 of its token is stored, so a leaked table is useless."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgentToken(Base):
    """An API token an admin issued to an agent for scripts (the CLI): it acts as that agent,
    only for its scopes, until it expires or is revoked. Only its SHA-256 is stored."""

    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Space-separated names of supportbot.console.tokens.Scope.
    scopes: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(80), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One line of the audit trail: who did what, to what, when and from where.

    Refused logins, lockouts, exports of many conversations, agent and token management. The
    actor is an agent ("agent:<id>"), the operator's command line ("cli"), or for a login with an
    unknown email a keyed hash of it ("email:<hmac>"); `source` is the client address as a keyed
    hash, never in clear (supportbot.console.audit)."""

    __tablename__ = "audit_trail"
    __table_args__ = (Index("ix_audit_trail_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(80), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConversationReview(Base):
    """An agent's review of one conversation; no row means the conversation is still new."""

    __tablename__ = "conversation_reviews"

    sender_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("interactions.sender_id"), primary_key=True
    )
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class ConversationTag(Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (UniqueConstraint("sender_id", "tag", name="uq_conversation_tags_sender_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(64), ForeignKey("interactions.sender_id"))
    tag: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class HandoffState(enum.StrEnum):
    WAITING = "waiting"  # the bot is paused and nobody has the conversation yet
    CLAIMED = "claimed"  # one agent has it
    RETURNED = "returned"  # handed back to the bot; it left the queue


class HandoffRequest(Base):
    """A conversation's place in the takeover queue: one row per conversation, for its latest
    handoff (a later handoff puts the same row back to waiting). See supportbot.console.takeover."""

    __tablename__ = "handoff_queue"
    __table_args__ = (Index("ix_handoff_queue_state_requested_at", "state", "requested_at"),)

    sender_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("interactions.sender_id"), primary_key=True
    )
    state: Mapped[HandoffState] = mapped_column(_enum(HandoffState))
    reason: Mapped[str] = mapped_column(String(300))
    priority: Mapped[str] = mapped_column(String(10))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The console's list filters and sorts interactions by these; declared here (migration 0004)
# so the CRM model stays as it is. (started_at, id) is the list's newest-first order.
Index("ix_interactions_started_at_id", Interaction.started_at, Interaction.id)
Index("ix_interactions_handoff", Interaction.handoff)
Index("ix_interactions_csat_rating", Interaction.csat_rating)
Index("ix_interactions_sentiment_average", Interaction.sentiment_average)
