"""Live takeover in the agent console: the queue, claiming, the live view, replies, hand-back.

The queue and its claim lock live in the CRM store (supportbot.console.takeover); the conversation
itself lives in Rasa, paused since the handoff. The agent's name shown to the customer is the
signed-in agent's first name, never anything from the request. A change is recorded in the CRM
only once Rasa has it (a claim whose joined notice cannot be posted is undone), so a failure
leaves the conversation where it was and the agent can simply retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from supportbot.console import takeover
from supportbot.console.auth import CurrentAgent
from supportbot.rasa_client import RasaClient, RasaRequestError, RasaUnavailable, check_sender_id
from supportbot.settings import Settings
from supportbot.store import CRM, crm_session
from supportbot.web.chat_api import not_blank
from supportbot.web.console_api import SignedIn, SignedInChange

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/console")

MAX_AGENT_MESSAGE_LENGTH = 2000
T = TypeVar("T")

_STATUS: dict[type[takeover.TakeoverError], int] = {
    takeover.NotInQueue: 404,
    takeover.NotWaiting: 404,
    takeover.AlreadyClaimed: 409,
    takeover.NotClaimed: 409,
    takeover.NotYourClaim: 403,
}


@contextmanager
def _crm(settings: Settings) -> Iterator[CRM]:
    """One CRM transaction; queue refusals and outages become clean JSON errors."""
    try:
        with crm_session(settings.database_url or None) as crm:
            yield crm
    except takeover.TakeoverError as error:
        raise HTTPException(_STATUS[type(error)], str(error)) from None
    except SQLAlchemyError:
        logger.exception("takeover: CRM store error")
        raise HTTPException(503, "the CRM store is unavailable") from None


async def _in_crm(request: Request, work: Callable[[CRM], T]) -> T:
    """Run `work` in one CRM transaction in a worker thread (the event loop never blocks)."""
    settings: Settings = request.app.state.settings

    def call() -> T:
        with _crm(settings) as crm:
            return work(crm)

    return await asyncio.to_thread(call)


def _sender(sender_id: str) -> str:
    try:
        return check_sender_id(sender_id)
    except ValueError as error:
        raise HTTPException(422, f"Invalid request: sender_id: {error}") from None


def _first_name(agent: CurrentAgent) -> str:
    """How the agent introduces themselves to a customer."""
    return agent.name.split()[0] if agent.name.strip() else "Support"


@router.get("/queue")
def queue(agent: SignedIn, request: Request) -> dict[str, Any]:
    """Conversations waiting for a person (oldest first), then those an agent has."""
    with _crm(request.app.state.settings) as crm:
        return {"items": crm.handoffs.items()}


@router.post("/queue/{sender_id}/claim")
async def claim(agent: SignedInChange, sender_id: str, request: Request) -> dict[str, Any]:
    """Take the conversation; the customer is told who joined. 409 if another agent was first."""
    sender_id = _sender(sender_id)
    won = await _in_crm(request, lambda crm: crm.handoffs.claim(sender_id, agent.id))
    if won.new:
        rasa: RasaClient = request.app.state.rasa
        try:
            await rasa.announce_agent(sender_id, _first_name(agent))
        except (RasaUnavailable, RasaRequestError):
            # The customer was not told; give the conversation back to the queue.
            await _in_crm(request, lambda crm: crm.handoffs.unclaim(sender_id, agent.id))
            raise
        logger.info("takeover: agent %s claimed a conversation", agent.id)
    return {
        "sender_id": sender_id,
        "state": "claimed",
        "agent": {"id": agent.id, "name": agent.name},
    }


@router.get("/conversations/{sender_id}/live")
async def live(
    agent: SignedIn,
    sender_id: str,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The messages after the first `after` (the agent's chat view polls this)."""
    rasa: RasaClient = request.app.state.rasa
    transcript = await rasa.transcript(_sender(sender_id))
    return {
        "messages": [message.as_dict() for message in transcript.messages[after:]],
        "total": len(transcript.messages),
        "paused": transcript.paused,
    }


class AgentMessage(BaseModel):
    # extra="forbid": the name shown to the customer is never taken from the request.
    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, Field(min_length=1, max_length=MAX_AGENT_MESSAGE_LENGTH), AfterValidator(not_blank)
    ]


@router.post("/conversations/{sender_id}/messages")
async def send(
    agent: SignedInChange, sender_id: str, body: AgentMessage, request: Request
) -> dict[str, str]:
    """Write into the conversation; only the agent who claimed it may."""
    sender_id = _sender(sender_id)
    await _in_crm(request, lambda crm: crm.handoffs.check_holder(sender_id, agent.id))
    rasa: RasaClient = request.app.state.rasa
    await rasa.post_agent_reply(sender_id, body.text, _first_name(agent))
    return {"status": "sent"}


@router.post("/queue/{sender_id}/release")
async def release(agent: SignedInChange, sender_id: str, request: Request) -> dict[str, str]:
    """Hand the conversation back to the bot (resume + notice); it leaves the queue."""
    sender_id = _sender(sender_id)
    await _in_crm(request, lambda crm: crm.handoffs.check_holder(sender_id, agent.id))
    rasa: RasaClient = request.app.state.rasa
    await rasa.resume(sender_id)
    await _in_crm(request, lambda crm: crm.handoffs.release(sender_id, agent.id))
    logger.info("takeover: agent %s handed a conversation back", agent.id)
    return {"status": "returned"}
