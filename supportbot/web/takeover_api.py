"""Live takeover in the agent console: the queue, claiming, the live view, replies, hand-back.

The queue and its claim lock live in the CRM store (supportbot.console.takeover); the conversation
itself lives in Rasa, paused since the handoff. The agent's name shown to the customer is the
signed-in agent's first name, never anything from the request. A change stands in the CRM only
once Rasa has it (a claim whose joined notice cannot be posted is undone), so a failure leaves
the conversation where it was and the agent can simply retry. Queue refusals answer 403/404/409
(app.py). These routes also take an admin-issued API token with the scope `takeover` (the
`supportbot agent` commands): it acts as its agent, under the same claims.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from supportbot.console.auth import CurrentAgent
from supportbot.console.tokens import Scope
from supportbot.rasa_client import RasaRequestError, RasaUnavailable
from supportbot.web.chat_api import not_blank
from supportbot.web.dependencies import (
    AppSettings,
    CRMSession,
    Rasa,
    SenderId,
    TakeoverAgent,
    TakeoverChange,
    committed,
)
from supportbot.web.responses import ClaimResult, Queue, Status, TranscriptView

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console")

MAX_AGENT_MESSAGE_LENGTH = 2000


def _first_name(agent: CurrentAgent) -> str:
    """How the agent introduces themselves to a customer."""
    return agent.name.split()[0] if agent.name.strip() else "Support"


@router.get("/queue")
def queue(agent: TakeoverAgent, crm: CRMSession) -> Queue:
    """Conversations waiting for a person (oldest first), then those an agent has."""
    return Queue.model_validate({"items": crm.handoffs.items()})


@router.post("/queue/{sender_id}/claim")
async def claim(
    agent: TakeoverChange, sender_id: SenderId, settings: AppSettings, rasa: Rasa
) -> ClaimResult:
    """Take the conversation; the customer is told who joined. 409 if another agent was first."""
    # Committed before Rasa is called, so no write lock waits on the network (SQLite's is global).
    won = await committed(settings, lambda crm: crm.handoffs.claim(sender_id, agent.id))
    if won.new:
        try:
            await rasa.announce_agent(sender_id, _first_name(agent))
        except (RasaUnavailable, RasaRequestError):
            # The customer was not told; give the conversation back to the queue.
            await committed(settings, lambda crm: crm.handoffs.unclaim(sender_id, agent.id))
            raise
        logger.info("takeover: agent %s claimed a conversation", agent.id)
    return ClaimResult.model_validate(
        {"sender_id": sender_id, "state": "claimed", "agent": {"id": agent.id, "name": agent.name}}
    )


@router.get("/conversations/{sender_id}/live")
async def live(
    agent: TakeoverAgent,
    sender_id: SenderId,
    rasa: Rasa,
    settings: AppSettings,
    after: Annotated[int, Query(ge=0)] = 0,
) -> TranscriptView:
    """The messages after the first `after` (the agent's chat view polls this). A token that may
    not read conversations sees only the one its agent has claimed."""
    if agent.scopes is not None and Scope.READ not in agent.scopes:
        await committed(settings, lambda crm: crm.handoffs.check_holder(sender_id, agent.id))
    return TranscriptView.after(await rasa.transcript(sender_id), after)


class AgentMessage(BaseModel):
    # extra="forbid": the name shown to the customer is never taken from the request.
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, Field(min_length=1, max_length=MAX_AGENT_MESSAGE_LENGTH), AfterValidator(not_blank)
    ]


@router.post("/conversations/{sender_id}/messages")
async def send(
    agent: TakeoverChange, sender_id: SenderId, body: AgentMessage, crm: CRMSession, rasa: Rasa
) -> Status:
    """Write into the conversation; only the agent who claimed it may."""
    await asyncio.to_thread(crm.handoffs.check_holder, sender_id, agent.id)
    await rasa.post_agent_reply(sender_id, body.text, _first_name(agent))
    return Status(status="sent")


@router.post("/queue/{sender_id}/release")
async def release(
    agent: TakeoverChange, sender_id: SenderId, crm: CRMSession, rasa: Rasa
) -> Status:
    """Hand the conversation back to the bot (resume + notice); it leaves the queue."""
    await asyncio.to_thread(crm.handoffs.check_holder, sender_id, agent.id)
    await rasa.resume(sender_id)
    await asyncio.to_thread(crm.handoffs.release, sender_id, agent.id)
    logger.info("takeover: agent %s handed a conversation back", agent.id)
    return Status(status="returned")
