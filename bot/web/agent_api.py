"""The interim agent API: reply into a handed-off conversation and hand it back to the bot.

Guarded by a bearer token (SUPPORTBOT_AGENT_TOKEN) until the agent console brings agent logins.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from bot.rasa_client import RasaClient, check_sender_id
from bot.settings import Settings, SettingsError

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
    result = await rasa.transcript(_sender(sender_id))
    return {"messages": [m.as_dict() for m in result.messages], "paused": result.paused}


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
    await rasa.resume(_sender(sender_id))
    return {"status": "resumed"}
