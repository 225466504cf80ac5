"""Rasa channels of the project. Imported by the Rasa server (Python 3.10 environment) only.

Rasa 3.6.21 creates its socket.io server with `cors_allowed_origins=[]`, which switches Origin
checking off, so any web page could open a conversation from a visitor's browser. This channel
restores the check with an allowlist from credentials.yml.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint


class OriginCheckedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel that only accepts connections from allowed origins."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = dict(credentials or {})
        origins = credentials.pop("allowed_origins", "") or ""
        channel = super().from_credentials(credentials)
        assert isinstance(channel, OriginCheckedSocketIOInput)
        channel.allowed_origins = [o.strip() for o in str(origins).split(",") if o.strip()]
        if not channel.allowed_origins:
            raise ValueError("the socketio channel needs allowed_origins in credentials.yml")
        return channel

    allowed_origins: list[str]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        assert self.sio is not None
        # engine.io reads this on every handshake; a list switches the Origin check on.
        self.sio.eio.cors_allowed_origins = self.allowed_origins
        return blueprint
