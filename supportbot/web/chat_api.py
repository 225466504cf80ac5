"""The widget's API: one conversation per browser and principal, identified by a signed cookie.

The server, not the browser, chooses the conversation id. A logged-in customer's host page passes a
signed token (header X-Customer-Token, on every request): the conversation belongs to its
customer, or to an anonymous visitor without one, and a change of either starts a new
conversation (dependencies.widget_conversation). The token is forwarded to Rasa as message
metadata; only the action server's signature check turns it into an identity there. The widget
talks to Rasa's socket.io channel with the same signed id (GET /session), so both ways reach one
conversation and its history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, Field

from common import conversation_ids
from common.chat_messages import MAX_MESSAGE_LENGTH
from supportbot.web.dependencies import AppSettings, CustomerToken, Rasa, WidgetConversation
from supportbot.web.rate_limits import chat_read_limit, chat_send_limit, client_address
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


@router.get("/session", dependencies=[chat_read_limit])
async def session(conversation: WidgetConversation, settings: AppSettings) -> ChatSession:
    """This browser's conversation as a signed token for Rasa's socket.io channel (expiring with
    the conversation), and its URL."""
    return ChatSession(
        session=conversation_ids.sign(
            conversation.conversation_id,
            settings.require("session_secret"),
            issued_at=conversation.issued_at,
        ),
        socket_url=settings.chat_socket_url,
    )


@router.get("/messages", dependencies=[chat_read_limit])
async def history(conversation: WidgetConversation, rasa: Rasa, after: int = 0) -> TranscriptView:
    """The conversation so far (after the first `after` messages) and whether a human has it."""
    return TranscriptView.after(await rasa.transcript(conversation.conversation_id), max(after, 0))


@router.post("/messages", dependencies=[chat_send_limit])
async def say(
    message: CustomerMessage,
    conversation: WidgetConversation,
    token: CustomerToken,
    rasa: Rasa,
    request: Request,
) -> TranscriptView:
    """Send the customer's message; answers with every transcript message after `after`.

    The host page's token (the header, the same one the conversation was chosen by) goes along
    as metadata, for the action server to verify; so does the browser's address, which Rasa
    turns into the opaque key that verification failures are counted by per client."""
    metadata = {"customer_token": token} if token else {}
    await rasa.send_message(
        conversation.conversation_id,
        message.text,
        metadata,
        client_address=client_address(request),
    )
    return TranscriptView.after(await rasa.transcript(conversation.conversation_id), message.after)
