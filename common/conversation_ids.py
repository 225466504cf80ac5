"""The widget's conversation cookie: a random conversation id the server chose, signed.

The browser can keep or drop the cookie, but it cannot pick another conversation id: an id
without our signature is ignored and a fresh conversation starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE_NAME = "supportbot_conversation"
COOKIE_MAX_AGE_S = 30 * 24 * 3600


def new_conversation_id() -> str:
    """128 random bits, as 32 hex digits (a valid Rasa sender id)."""
    return secrets.token_hex(16)


def _mac(conversation_id: str, secret: str) -> str:
    return hmac.new(secret.encode(), conversation_id.encode(), hashlib.sha256).hexdigest()


def sign(conversation_id: str, secret: str) -> str:
    return f"{conversation_id}.{_mac(conversation_id, secret)}"


def verify(cookie: str | None, secret: str) -> str | None:
    """The conversation id in a cookie we signed, or None."""
    if not cookie or len(cookie) > 200:
        return None
    conversation_id, _, mac = cookie.partition(".")
    if len(conversation_id) != 32 or not hmac.compare_digest(mac, _mac(conversation_id, secret)):
        return None
    return conversation_id
