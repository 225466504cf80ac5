"""The interim agent API: reply into a handed-off conversation and hand it back to the bot.

Guarded by a bearer token (SUPPORTBOT_AGENT_TOKEN), not an agent login: the console's takeover
routes (supportbot/web/takeover_api.py) are the per-agent way, with claims. A resume here also
takes the conversation out of the console's queue, whoever had claimed it.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from supportbot.rasa_client import RasaClient, check_sender_id
from supportbot.settings import Settings, SettingsError
from supportbot.store import crm_session

router = APIRouter(prefix="/api/agent")


def require_agent(request: Request) -> None:
    settings: Settings = request.app.state.settings
    try:
        expected = settings.require("agent_api_token")
    except SettingsError:
        raise HTTPException(503, "agent API disabled: SUPPORTBOT_AGENT_TOKEN is not set") from None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(401, "agent token missing or wrong", {"WWW-Authenticate": "Bearer"})


class AgentReply(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    agent_name: str = Field(default="Support agent", min_length=1, max_length=60)


def _sender(sender_id: str) -> str:
    try:
        return check_sender_id(sender_id)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None


@router.get("/conversations/{sender_id}", dependencies=[Depends(require_agent)])
async def transcript(sender_id: str, request: Request) -> dict[str, Any]:
    rasa: RasaClient = request.app.state.rasa
    settings: Settings = request.app.state.settings
    result = await rasa.transcript(_sender(sender_id))
    try:
        record = await asyncio.to_thread(_crm_record, settings.database_url or None, sender_id)
    except SQLAlchemyError:
        raise HTTPException(503, "the CRM store is unavailable") from None
    return {
        "messages": [m.as_dict() for m in result.messages],
        "paused": result.paused,
        **record,
    }


def _crm_record(database_url: str | None, sender_id: str) -> dict[str, Any]:
    """What the CRM knows about the conversation: sentiment, CSAT and the decisions with reasons."""
    with crm_session(database_url) as crm:
        interaction = crm.interactions.find(sender_id)
        decisions = [
            {"kind": d.kind, "reason": d.reason, "at": d.created_at.isoformat()}
            for d in crm.decisions.for_conversation(sender_id)
        ]
        if interaction is None:
            return {"conversation": None, "decisions": decisions, "profile": None}
        profile = crm.profiles.get(interaction.customer_id) if interaction.customer_id else None
        return {
            "conversation": {
                "message_sentiments": interaction.message_sentiments,
                "sentiment_average": interaction.sentiment_average,
                "sentiment_trend": interaction.sentiment_trend,
                "handoff": interaction.handoff,
                "outcome": interaction.outcome,
                "satisfaction_estimate": interaction.satisfaction_estimate,
                "csat_rating": interaction.csat_rating,
                "csat_comment": interaction.csat_comment,
            },
            "decisions": decisions,
            "profile": None
            if profile is None
            else {
                "tier": profile.tier,
                "value": str(profile.value),
                "interaction_count": profile.interaction_count,
                "sentiment_history": profile.sentiment_history,
                "handoff_count": profile.handoff_count,
                "satisfaction_average": profile.satisfaction_average,
                "csat_average": profile.csat_average,
            },
        }


@router.post("/conversations/{sender_id}/messages", dependencies=[Depends(require_agent)])
async def reply(sender_id: str, body: AgentReply, request: Request) -> dict[str, str]:
    rasa: RasaClient = request.app.state.rasa
    try:
        await rasa.post_agent_reply(_sender(sender_id), body.text, body.agent_name)
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    return {"status": "sent"}


@router.post("/conversations/{sender_id}/resume", dependencies=[Depends(require_agent)])
async def resume(sender_id: str, request: Request) -> dict[str, str]:
    rasa: RasaClient = request.app.state.rasa
    settings: Settings = request.app.state.settings
    await rasa.resume(_sender(sender_id))
    try:
        await asyncio.to_thread(_leave_queue, settings.database_url or None, sender_id)
    except SQLAlchemyError:
        raise HTTPException(503, "the CRM store is unavailable") from None
    return {"status": "resumed"}


def _leave_queue(database_url: str | None, sender_id: str) -> None:
    with crm_session(database_url) as crm:
        crm.handoffs.hand_back(sender_id)
