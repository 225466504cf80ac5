"""The widget's API: one conversation per browser, identified by a signed cookie.

The server, not the browser, chooses the conversation id. A logged-in customer's host page passes a
signed token, which is forwarded to Rasa as message metadata; only the action server's signature
check turns it into an identity. The widget talks to Rasa's socket.io channel with the same signed
id (GET /session), so both ways reach one conversation and its history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from common import conversation_ids
from common.chat_messages import MAX_MESSAGE_LENGTH
from supportbot.web.dependencies import AppSettings, Rasa, WidgetConversation
from supportbot.web.responses import ChatSession, TranscriptView

router = APIRouter(prefix="/api/chat")


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


@router.get("/session")
async def session(
    conversation_id: WidgetConversation, settings: AppSettings, response: Response
) -> ChatSession:
    """This browser's conversation as a signed token for Rasa's socket.io channel, and its URL."""
    response.headers["Cache-Control"] = "no-store"  # a credential for this conversation
    return ChatSession(
        session=conversation_ids.sign(conversation_id, settings.require("session_secret")),
        socket_url=settings.chat_socket_url,
    )


@router.get("/messages")
async def history(
    conversation_id: WidgetConversation, rasa: Rasa, after: int = 0
) -> TranscriptView:
    """The conversation so far (after the first `after` messages) and whether a human has it."""
    return TranscriptView.after(await rasa.transcript(conversation_id), max(after, 0))


@router.post("/messages")
async def say(
    message: CustomerMessage, conversation_id: WidgetConversation, rasa: Rasa, request: Request
) -> TranscriptView:
    """Send the customer's message; answers with every transcript message after `after`."""
    metadata = {"customer_token": message.customer_token} if message.customer_token else {}
    # Rasa keys the verification-failure counts by the browser's address (hashed, never kept).
    client_address = request.client.host if request.client else None
    await rasa.send_message(conversation_id, message.text, metadata, client_address=client_address)
    return TranscriptView.after(await rasa.transcript(conversation_id), message.after)
