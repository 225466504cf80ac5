"""Rasa channels of the project. Imported by the Rasa server (Python 3.10 environment) only.

Rasa 3.6.21's socket.io channel lets any web page in and believes the client about whose
conversation a message belongs to: `session_request` accepts any id, and every `user_uttered`
names its own `session_id`. This channel restores the Origin check (allowlist from
credentials.yml) and binds each socket to the conversation the web app signed for the browser
(GET /api/chat/session, common/conversation_ids.py): only that id is ever used as the sender.

With several Rasa workers or processes, `socketio_redis_url` in credentials.yml gives the channel
python-socketio's Redis message queue: a bot or agent message for a conversation is published
there, and whichever worker holds the conversation's sockets delivers it. The widget opens a
websocket only (no long-polling), so each socket lives on one worker for its whole life and no
sticky sessions are needed in front of the workers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint
from socketio import AsyncRedisManager

from assistant.environment import SESSION_SECRET_VARIABLE, session_secret
from common import conversation_ids
from common.chat_messages import MAX_MESSAGE_LENGTH, bot_message

logger = logging.getLogger(__name__)


class ChatMessageOutput(SocketIOOutput):
    """Sends each bot message whole, as the widget renders it (Rasa's splits text on blank lines
    and drops the metadata that marks agent messages and notices)."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # BotUttered.message() merges the event's data and metadata into one dict.
        shown = bot_message(
            message.get("text"), message.get("timestamp"), message.get("buttons"), message
        )
        if shown is not None:
            await self._send_message(recipient_id, shown.as_dict())


class OriginCheckedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel for allowed origins and server-signed conversations only."""

    allowed_origins: list[str]
    session_secret: str
    redis_url: str

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = dict(credentials or {})
        origins = credentials.pop("allowed_origins", "") or ""
        redis_url = credentials.pop("socketio_redis_url", "") or ""
        channel = super().from_credentials(credentials)
        assert isinstance(channel, OriginCheckedSocketIOInput)
        channel.redis_url = str(redis_url).strip()
        channel.allowed_origins = [o.strip() for o in str(origins).split(",") if o.strip()]
        if not channel.allowed_origins:
            raise ValueError("the socketio channel needs allowed_origins in credentials.yml")
        secret = session_secret()
        if not secret:
            raise ValueError(
                f"{SESSION_SECRET_VARIABLE} is not set: the socketio channel checks the web app's "
                "signed conversation ids with it (`supportbot env` prints it)"
            )
        channel.session_secret = secret
        return channel

    def get_output_channel(self) -> SocketIOOutput | None:
        """Used for messages Rasa's HTTP API adds with ?output_channel=socketio (agent replies)."""
        if self.sio is None:
            return super().get_output_channel()
        return ChatMessageOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        namespace = self.namespace
        # engine.io reads this on every handshake; a list switches the Origin check on.
        sio.eio.cors_allowed_origins = self.allowed_origins
        if self.redis_url:
            # Rasa builds the server without a client manager; this is what AsyncServer's
            # constructor does with one. Each worker subscribes when its first socket connects.
            manager = AsyncRedisManager(self.redis_url)
            manager.set_server(sio)
            sio.manager = manager

        # python-socketio 5.9.0 keeps one handler per event and namespace (Server.on stores
        # handlers[namespace][event]), so these replace Rasa's trusting handlers.
        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = conversation_ids.verify(
                token if isinstance(token, str) else None, self.session_secret
            )
            if conversation_id is None:
                logger.info("socket.io session refused: no conversation id signed by the web app")
                await sio.disconnect(sid, namespace=namespace)
                return
            session = await sio.get_session(sid, namespace=namespace)
            previous = session.get("conversation_id")
            if previous and previous != conversation_id:
                sio.leave_room(sid, previous, namespace=namespace)
            await sio.save_session(sid, {"conversation_id": conversation_id}, namespace=namespace)
            # Every socket of the conversation (reloads, other tabs) gets its bot messages.
            sio.enter_room(sid, conversation_id, namespace=namespace)
            # The socket is this worker's own: no round trip through the message queue.
            await sio.emit(
                "session_confirm", conversation_id, room=sid, namespace=namespace, ignore_queue=True
            )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_uttered(sid: str, data: Any) -> dict[str, str]:
            """Answers (socket.io acknowledgement) once the bot has finished its turn."""
            session = await sio.get_session(sid, namespace=namespace)
            conversation_id = session.get("conversation_id")
            if conversation_id is None:
                return {"error": "Start a session first."}
            text = data.get("message") if isinstance(data, dict) else None
            if not isinstance(text, str) or not text.strip():
                return {"error": "A message needs some text."}
            if len(text) > MAX_MESSAGE_LENGTH:
                return {"error": f"A message has at most {MAX_MESSAGE_LENGTH} characters."}
            # Only the signed customer token passes, as through the REST proxy; the action
            # server's signature check decides what it is worth.
            metadata = data.get(self.metadata_key)
            token = metadata.get("customer_token") if isinstance(metadata, dict) else None
            message = UserMessage(
                text.strip(),
                ChatMessageOutput(sio, self.bot_message_evt),
                conversation_id,  # never the client's data["session_id"]
                input_channel=self.name(),
                metadata={"customer_token": token} if isinstance(token, str) else {},
            )
            try:
                await on_new_message(message)
            except Exception:
                logger.exception("the assistant failed on a socket.io message")
                return {"error": "The assistant could not handle that."}
            return {"status": "ok"}

        return blueprint
