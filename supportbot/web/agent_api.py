"""The interim agent API: reply into a handed-off conversation and hand it back to the bot.

Guarded by a bearer token (SUPPORTBOT_AGENT_TOKEN), not an agent login: the console's takeover
routes (supportbot/web/takeover_api.py) are the per-agent way, with claims. A resume here also
takes the conversation out of the console's queue, whoever had claimed it.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from supportbot.crm.models import utc_iso
from supportbot.store import CRM
from supportbot.web.dependencies import CRMSession, Rasa, SenderId, interim_agent_token
from supportbot.web.responses import (
    InterimConversation,
    InterimDecision,
    InterimProfile,
    InterimTranscript,
    Status,
)

router = APIRouter(prefix="/api/agent", dependencies=[Depends(interim_agent_token)])


class AgentReply(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    agent_name: str = Field(default="Support agent", min_length=1, max_length=60)


@router.get("/conversations/{sender_id}")
async def transcript(sender_id: SenderId, crm: CRMSession, rasa: Rasa) -> InterimTranscript:
    """The transcript, and what the CRM knows: sentiment, CSAT, the decisions with reasons."""
    result = await rasa.transcript(sender_id)
    conversation, decisions, profile = await asyncio.to_thread(_crm_record, crm, sender_id)
    return InterimTranscript(
        messages=result.messages,
        paused=result.paused,
        conversation=conversation,
        decisions=decisions,
        profile=profile,
    )


def _crm_record(
    crm: CRM, sender_id: str
) -> tuple[InterimConversation | None, list[InterimDecision], InterimProfile | None]:
    decisions = [
        InterimDecision(kind=d.kind, reason=d.reason, at=utc_iso(d.created_at))
        for d in crm.decisions.for_conversation(sender_id)
    ]
    interaction = crm.interactions.find(sender_id)
    if interaction is None:
        return None, decisions, None
    conversation = InterimConversation(
        message_sentiments=interaction.message_sentiments,
        sentiment_average=interaction.sentiment_average,
        sentiment_trend=interaction.sentiment_trend,
        handoff=interaction.handoff,
        outcome=interaction.outcome,
        satisfaction_estimate=interaction.satisfaction_estimate,
        csat_rating=interaction.csat_rating,
        csat_comment=interaction.csat_comment,
    )
    profile = crm.profiles.get(interaction.customer_id) if interaction.customer_id else None
    if profile is None:
        return conversation, decisions, None
    return (
        conversation,
        decisions,
        InterimProfile(
            tier=profile.tier,
            value=str(profile.value),
            interaction_count=profile.interaction_count,
            sentiment_history=profile.sentiment_history,
            handoff_count=profile.handoff_count,
            satisfaction_average=profile.satisfaction_average,
            csat_average=profile.csat_average,
        ),
    )


@router.post("/conversations/{sender_id}/messages")
async def reply(sender_id: SenderId, body: AgentReply, rasa: Rasa) -> Status:
    try:
        await rasa.post_agent_reply(sender_id, body.text, body.agent_name)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return Status(status="sent")


@router.post("/conversations/{sender_id}/resume")
async def resume(sender_id: SenderId, crm: CRMSession, rasa: Rasa) -> Status:
    await rasa.resume(sender_id)
    await asyncio.to_thread(crm.handoffs.hand_back, sender_id)
    return Status(status="resumed")
