"""The widget's API: one conversation per browser, identified by a signed cookie.

The server, not the browser, chooses the conversation id. A logged-in customer's host page passes a
signed token, which is forwarded to Rasa as message metadata; only the action server's signature
check turns it into an identity. The widget talks to Rasa's socket.io channel with the same signed
id (GET /session), so both ways reach one conversation and its history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from common import conversation_ids
from supportbot.rasa_client import RasaClient, Transcript
from supportbot.settings import Settings

router = APIRouter(prefix="/api/chat")

MAX_MESSAGE_LENGTH = 1000


def not_blank(text: str) -> str:
    """A message's text, stripped; blank text is refused (customers' and agents' alike)."""
    if not text.strip():
        raise ValueError("a message needs some text")
    return text.strip()


class CustomerMessage(BaseModel):
    text: Annotated[
        str, Field(min_length=1, max_length=MAX_MESSAGE_LENGTH), AfterValidator(not_blank)
    ]
    # How many transcript messages the widget already shows; the answer holds the ones after.
    after: int = Field(default=0, ge=0)
    customer_token: str | None = Field(default=None, max_length=2048)


def _conversation(request: Request, response: Response) -> str:
    """This browser's conversation id; a new one (and its cookie) if it has none."""
    settings: Settings = request.app.state.settings
    secret = settings.require("session_secret")
    conversation_id = conversation_ids.verify(
        request.cookies.get(conversation_ids.COOKIE_NAME), secret
    )
    if conversation_id is None:
        conversation_id = conversation_ids.new_conversation_id()
    # Refreshed on every call, so an active conversation keeps its cookie.
    response.set_cookie(
        conversation_ids.COOKIE_NAME,
        conversation_ids.sign(conversation_id, secret),
        max_age=conversation_ids.COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/api/chat",
    )
    return conversation_id


def _view(transcript: Transcript, after: int) -> dict[str, Any]:
    return {
        "messages": [message.as_dict() for message in transcript.messages[after:]],
        "total": len(transcript.messages),
        "paused": transcript.paused,
    }


@router.get("/session")
async def session(request: Request, response: Response) -> dict[str, str]:
    """This browser's conversation as a signed token for Rasa's socket.io channel, and its URL."""
    settings: Settings = request.app.state.settings
    conversation_id = _conversation(request, response)
    response.headers["Cache-Control"] = "no-store"  # a credential for this conversation
    return {
        "session": conversation_ids.sign(conversation_id, settings.require("session_secret")),
        "socket_url": settings.chat_socket_url,
    }


@router.get("/messages")
async def history(request: Request, response: Response, after: int = 0) -> dict[str, Any]:
    """The conversation so far (after the first `after` messages) and whether a human has it."""
    rasa: RasaClient = request.app.state.rasa
    transcript = await rasa.transcript(_conversation(request, response))
    return _view(transcript, max(after, 0))


@router.post("/messages")
async def say(message: CustomerMessage, request: Request, response: Response) -> dict[str, Any]:
    """Send the customer's message; answers with every transcript message after `after`."""
    rasa: RasaClient = request.app.state.rasa
    conversation_id = _conversation(request, response)
    metadata = {"customer_token": message.customer_token} if message.customer_token else {}
    await rasa.send_message(conversation_id, message.text, metadata)
    transcript = await rasa.transcript(conversation_id)
    return _view(transcript, message.after)
