"""Rasa channels of the project. Imported by the Rasa server (Python 3.10 environment) only.

Rasa 3.6.21's REST channel believes whatever body reaches it: the sender (any conversation, or a
shared `default` one), any metadata, any size, any content type. SignedRestInput, at the same
URL (/webhooks/rest/webhook), answers only the web app: each request carries its HMAC over a
timestamp and the exact body (common/channel_signing.py), the body is read up to a cap, the
message and its metadata are checked, and message text is never logged.

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

Both channels pass on, as message metadata, only the customer token (for the action server to
verify) and `client`: a keyed hash of the client's address (socket.io: the connecting peer;
REST: the browser's address the web app forwards in the signed body), so verification failures
can be counted per client without the address being kept or logged.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager

from assistant.environment import (
    SESSION_SECRET_VARIABLE,
    conversation_max_age,
    session_secret,
    trusted_proxies,
)
from common import conversation_ids
from common.channel_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, client_key, verify_request
from common.chat_messages import (
    MAX_CUSTOMER_TOKEN_LENGTH,
    MAX_MESSAGE_LENGTH,
    SENDER_ID,
    bot_message,
)
from common.client_addresses import Network, client_group

logger = logging.getLogger(__name__)

# The largest body either channel reads: a message of MAX_MESSAGE_LENGTH characters, each
# escaped in JSON as \uXXXX, with a customer token and room to spare. socket.io's limit is
# per engine.io packet.
MAX_CHANNEL_BODY_BYTES = 16 * 1024
# What the web app forwards besides the token (checked by the action server): an address.
MAX_CLIENT_ADDRESS_LENGTH = 64


def _required_session_secret(channel: str) -> str:
    secret = session_secret()
    if not secret:
        raise ValueError(
            f"{SESSION_SECRET_VARIABLE} is not set: the {channel} channel checks what the web app "
            "signed with it (`supportbot run` passes it on)"
        )
    return secret


async def _done(result: Any) -> None:
    """Awaits what python-socketio returns when it is a coroutine: AsyncServer's enter_room and
    leave_room are from 5.10 on (5.9.0's were plain calls). Rasa 3.6.21 never awaits them, so
    with a newer python-socketio its own channel never joins a room."""
    if inspect.isawaitable(result):
        await result


def _customer_metadata(metadata: Any, client: str | None) -> dict[str, str]:
    """The metadata a customer message may carry: the customer token as given (the action
    server's signature check decides what it is worth) and the client's opaque key."""
    token = metadata.get("customer_token") if isinstance(metadata, dict) else None
    passed = {}
    if isinstance(token, str) and 0 < len(token) <= MAX_CUSTOMER_TOKEN_LENGTH:
        passed["customer_token"] = token
    if client:
        passed["client"] = client
    return passed


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
    conversation_max_age: int
    trusted_proxies: tuple[Network, ...]

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
        channel.session_secret = _required_session_secret("socketio")
        channel.conversation_max_age = conversation_max_age()
        channel.trusted_proxies = trusted_proxies()
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
        # engine.io reads these on every handshake and packet; a list switches the Origin check
        # on (Rasa builds the server in super().blueprint() with none and a 1 MB buffer).
        sio.eio.cors_allowed_origins = self.allowed_origins
        sio.eio.max_http_buffer_size = MAX_CHANNEL_BODY_BYTES
        if self.redis_url:
            # Rasa builds the server without a client manager; this is what AsyncServer's
            # constructor does with one. Each worker subscribes when its first socket connects.
            manager = AsyncRedisManager(self.redis_url)
            manager.set_server(sio)
            sio.manager = manager

            @blueprint.listener("before_server_start")
            async def own_host_id(*_: Any) -> None:
                # Sanic forks its workers after this server was built, so they would share the
                # manager's host id; python-socketio >= 5.10 delivers a message on its own host
                # and drops it from the queue when it bears that host's id, so a message one
                # worker sent would never reach a socket held by another.
                manager.host_id = uuid.uuid4().hex

        # python-socketio keeps one handler per event and namespace (Server.on stores
        # handlers[namespace][event]), so these replace Rasa's trusting handlers.
        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = conversation_ids.verify(
                token if isinstance(token, str) else None,
                self.session_secret,
                max_age=self.conversation_max_age,
            )
            if conversation_id is None:
                logger.info("socket.io session refused: no conversation id signed by the web app")
                await sio.disconnect(sid, namespace=namespace)
                return
            session = await sio.get_session(sid, namespace=namespace)
            previous = session.get("conversation_id")
            if previous and previous != conversation_id:
                await _done(sio.leave_room(sid, previous, namespace=namespace))
            # The connecting peer (engine.io's Sanic driver puts 127.0.0.1 in REMOTE_ADDR), or
            # the client a trusted reverse proxy names: else everyone behind the proxy would
            # share one count of failed verifications, and one guesser would lock them all out.
            request = sio.get_environ(sid, namespace=namespace).get("sanic.request")
            address = (
                client_group(
                    request.ip, request.headers.get("x-forwarded-for"), self.trusted_proxies
                )
                if request is not None
                else ""
            )
            await sio.save_session(
                sid,
                {
                    "conversation_id": conversation_id,
                    "client": client_key(address, self.session_secret),
                },
                namespace=namespace,
            )
            # Every socket of the conversation (reloads, other tabs) gets its bot messages.
            await _done(sio.enter_room(sid, conversation_id, namespace=namespace))
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
            message = UserMessage(
                text.strip(),
                ChatMessageOutput(sio, self.bot_message_evt),
                conversation_id,  # never the client's data["session_id"]
                input_channel=self.name(),
                metadata=_customer_metadata(data.get(self.metadata_key), session.get("client")),
            )
            try:
                await on_new_message(message)
            except Exception as error:
                _log_failure("socket.io message", error)
                return {"error": "The assistant could not handle that."}
            return {"status": "ok"}

        return blueprint


class SignedRestInput(InputChannel):
    """Rasa's REST channel (same name and URL) for requests the web app signed, only."""

    session_secret: str

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = cls()
        channel.session_secret = _required_session_secret("REST")
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("signed_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # stream=True: Sanic hands over the body unread, so it is read only up to the cap.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            media_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if media_type.lower() != "application/json":
                return _refusal(415, "Send the message as application/json.")
            body = await _read_capped(request, MAX_CHANNEL_BODY_BYTES)
            if body is None:
                return _refusal(413, f"A request has at most {MAX_CHANNEL_BODY_BYTES} bytes.")
            if not verify_request(
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                self.session_secret,
            ):
                logger.info("REST message refused: not signed by the web app, or too old")
                return _refusal(401, "Only the web app may post to this channel.")
            message = _customer_message(body, self.session_secret)
            if isinstance(message, HTTPResponse):
                return message
            sender_id, text, metadata = message
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text, collector, sender_id, input_channel=self.name(), metadata=metadata
                    )
                )
            except asyncio.CancelledError:
                # Rasa's channel logs the customer's text here; the fact is enough.
                logger.error("REST message: the turn was cancelled (response timeout)")
                raise
            except Exception as error:
                _log_failure("REST message", error)
            return response.json(collector.messages)

        return webhook


def _log_failure(what: str, error: Exception) -> None:
    """Where and what failed, without the exception's message or a traceback's values: either
    may quote the customer."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    logger.error(
        "%s: the assistant failed (%s at %s:%s)",
        what,
        type(error).__name__,
        where.filename,
        where.lineno,
    )


def _refusal(status: int, error: str) -> HTTPResponse:
    return response.json({"error": error}, status=status)


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The request body, or None once it is longer than `cap` bytes (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        return None
    body = bytearray()
    stream = request.stream
    assert stream is not None  # a streaming route
    while (chunk := await stream.read()) is not None:
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


def _customer_message(body: bytes, secret: str) -> tuple[str, str, dict[str, str]] | HTTPResponse:
    """(sender id, text, metadata) of a signed body, or the refusal that answers it."""
    try:
        data = json.loads(body)
    except ValueError:
        return _refusal(400, "The body is not JSON.")
    if not isinstance(data, dict):
        return _refusal(400, "The body is a JSON object with sender and message.")
    sender = data.get("sender")
    if not isinstance(sender, str) or not SENDER_ID.fullmatch(sender):
        return _refusal(400, "A message needs a sender: 1-64 letters, digits, '-' or '_'.")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return _refusal(400, "A message needs some text.")
    if len(text) > MAX_MESSAGE_LENGTH:
        return _refusal(413, f"A message has at most {MAX_MESSAGE_LENGTH} characters.")
    address = data.get("client_address")
    client = None
    if isinstance(address, str) and 0 < len(address) <= MAX_CLIENT_ADDRESS_LENGTH:
        client = client_key(address, secret)
    return sender, text, _customer_metadata(data.get("metadata"), client)
