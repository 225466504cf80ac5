"""The live-takeover queue: conversations the bot handed to a person, and which agent has each.

A handoff puts its conversation in the queue (`request`, in the handoff's own transaction). An
agent claims it; the claim is one conditional UPDATE (`... WHERE state = 'waiting'`) whose row
count decides, so two agents, in any processes, on SQLite or PostgreSQL, can never both win: on
PostgreSQL the second UPDATE waits for the first one's row lock and then finds the row no longer
waiting; on SQLite writers are serialised by the database lock. Only the claimer may write into
the conversation or hand it back; handing back takes it out of the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from supportbot.console.models import Agent, HandoffRequest, HandoffState
from supportbot.crm.models import Customer, Interaction, Ticket, utc_iso, utcnow

MAX_REASON_LENGTH = 300
# The queue view is a work list, not an archive; abandoned requests beyond this stay in the table.
MAX_QUEUE_ITEMS = 500


class TakeoverError(Exception):
    """A queue operation refused; the message is safe to show an agent."""


class NotInQueue(TakeoverError):
    """The conversation never asked for a person."""


class NotWaiting(TakeoverError):
    """Nobody can claim it: it is not waiting for a person (any more)."""


class AlreadyClaimed(TakeoverError):
    def __init__(self, agent_name: str) -> None:
        super().__init__(f"already claimed by {agent_name}")
        self.agent_name = agent_name


class NotClaimed(TakeoverError):
    """Nobody holds the conversation, so nobody may write into it or hand it back."""


class NotYourClaim(TakeoverError):
    """Another agent holds the conversation."""


@dataclass(frozen=True)
class Claim:
    sender_id: str
    agent_id: int
    agent_name: str
    # False when this agent already held it (a repeated click): nothing to announce again.
    new: bool


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class HandoffQueue:
    """The queue over the caller's session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def request(self, sender_id: str, *, reason: str, ticket: Ticket) -> HandoffRequest:
        """Put the conversation in the queue, waiting; a later handoff re-queues the same row.

        The conversation's interaction row must exist (the handoff marks it first)."""
        row = self.session.get(HandoffRequest, sender_id)
        if row is None:
            row = HandoffRequest(sender_id=sender_id)
            self.session.add(row)
        row.state = HandoffState.WAITING
        row.reason = reason.strip()[:MAX_REASON_LENGTH]
        row.priority = ticket.priority
        row.ticket_id = ticket.id
        row.requested_at = utcnow()
        row.agent_id = None
        row.claimed_at = None
        row.returned_at = None
        self.session.flush()
        return row

    def items(self) -> list[dict[str, Any]]:
        """The queue as the console shows it: waiting conversations, urgent ones (a valued
        customer at risk of leaving) first and then oldest first; then the claimed ones."""
        rows = self.session.execute(
            select(HandoffRequest, Customer.id, Customer.name, Agent.id, Agent.name)
            .outerjoin(Interaction, Interaction.sender_id == HandoffRequest.sender_id)
            .outerjoin(Customer, Customer.id == Interaction.customer_id)
            .outerjoin(Agent, Agent.id == HandoffRequest.agent_id)
            .where(HandoffRequest.state.in_([HandoffState.WAITING, HandoffState.CLAIMED]))
            .order_by(
                case((HandoffRequest.state == HandoffState.WAITING, 0), else_=1),
                case((HandoffRequest.priority == "urgent", 0), else_=1),
                HandoffRequest.requested_at,
                HandoffRequest.sender_id,
            )
            .limit(MAX_QUEUE_ITEMS)
        ).all()
        return [
            {
                "sender_id": row.sender_id,
                "customer": None if customer_id is None else {"id": customer_id, "name": name},
                "reason": row.reason,
                "priority": row.priority,
                "requested_at": utc_iso(row.requested_at),
                "state": row.state.value,
                "agent": None if agent_id is None else {"id": agent_id, "name": agent_name},
                "claimed_at": utc_iso(row.claimed_at),
            }
            for row, customer_id, name, agent_id, agent_name in rows
        ]

    def _current(self, sender_id: str) -> tuple[HandoffState, int | None, str | None] | None:
        """State, holder id and holder name as committed now (not the session's cached row)."""
        found = self.session.execute(
            select(HandoffRequest.state, HandoffRequest.agent_id, Agent.name)
            .outerjoin(Agent, Agent.id == HandoffRequest.agent_id)
            .where(HandoffRequest.sender_id == sender_id)
        ).one_or_none()
        return None if found is None else (found[0], found[1], found[2])

    def claim(self, sender_id: str, agent_id: int) -> Claim:
        """Give the waiting conversation to this agent.

        Raises:
            NotWaiting: it is not in the queue, or was handed back.
            AlreadyClaimed: another agent was first.
        """
        # The first statement of the transaction: on SQLite a writer that has not read yet waits
        # out the busy timeout for the other claim's commit instead of failing at once.
        won = _rowcount(
            self.session.execute(
                update(HandoffRequest)
                .where(
                    HandoffRequest.sender_id == sender_id,
                    HandoffRequest.state == HandoffState.WAITING,
                )
                .values(state=HandoffState.CLAIMED, agent_id=agent_id, claimed_at=utcnow()),
                execution_options={"synchronize_session": False},
            )
        )
        current = self._current(sender_id)
        if current is None or current[0] != HandoffState.CLAIMED:
            raise NotWaiting("this conversation is not waiting for a person")
        _, holder, holder_name = current
        if not won and holder != agent_id:
            raise AlreadyClaimed(holder_name or "another agent")
        return Claim(sender_id, agent_id, holder_name or "", new=bool(won))

    def unclaim(self, sender_id: str, agent_id: int) -> None:
        """Undo this agent's claim (the customer could not be told), so others can take it."""
        self.session.execute(
            update(HandoffRequest)
            .where(
                HandoffRequest.sender_id == sender_id,
                HandoffRequest.state == HandoffState.CLAIMED,
                HandoffRequest.agent_id == agent_id,
            )
            .values(state=HandoffState.WAITING, agent_id=None, claimed_at=None),
            execution_options={"synchronize_session": False},
        )

    def check_holder(self, sender_id: str, agent_id: int) -> None:
        """Succeeds only if this agent holds the conversation.

        Raises:
            NotInQueue, NotClaimed, NotYourClaim.
        """
        current = self._current(sender_id)
        if current is None:
            raise NotInQueue("this conversation has not been handed to a person")
        state, holder, _ = current
        if state != HandoffState.CLAIMED:
            raise NotClaimed("nobody has claimed this conversation")
        if holder != agent_id:
            raise NotYourClaim("another agent has this conversation")

    def release(self, sender_id: str, agent_id: int) -> None:
        """The holder hands the conversation back: it leaves the queue.

        Raises:
            NotInQueue, NotClaimed, NotYourClaim (nothing changes).
        """
        done = _rowcount(
            self.session.execute(
                update(HandoffRequest)
                .where(
                    HandoffRequest.sender_id == sender_id,
                    HandoffRequest.state == HandoffState.CLAIMED,
                    HandoffRequest.agent_id == agent_id,
                )
                .values(state=HandoffState.RETURNED, returned_at=utcnow()),
                execution_options={"synchronize_session": False},
            )
        )
        if not done:
            self.check_holder(sender_id, agent_id)
