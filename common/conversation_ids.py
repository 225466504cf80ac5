"""The widget's conversation cookie: a random conversation id the server chose, signed.

The browser can keep or drop the cookie, but it cannot pick another conversation id: an id
without our signature is ignored and a fresh conversation starts. The signature also covers when
the conversation started (it expires `max_age` seconds later, whatever the browser's Max-Age
says) and a keyed tag of who it belongs to (the customer of the host page's token, or anonymous),
so a shared browser never hands one person's conversation to the next.

    <conversation id>.<issued at, Unix seconds>.<principal tag>.<HMAC-SHA256>

The socket.io session token has the same form with an empty principal ("any"): it opens the
conversation on Rasa's channel, but never passes as the cookie of a principal.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from common.keyed_hashes import keyed_hash

COOKIE_NAME = "supportbot_conversation"
# How long a conversation lives from its start, unless the caller says otherwise.
MAX_AGE_S = 12 * 3600
ANONYMOUS = "anonymous"
# Clocks of the web app and Rasa may differ a little; a token from further ahead is refused.
_CLOCK_SKEW_S = 60
_TOKEN = re.compile(r"([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{64})")


@dataclass(frozen=True)
class SignedConversation:
    conversation_id: str
    issued_at: int


def new_conversation_id() -> str:
    """128 random bits, as 32 hex digits (a valid Rasa sender id)."""
    return secrets.token_hex(16)


def customer_principal(customer_id: int) -> str:
    """The principal of a customer a valid host-page token names."""
    return f"customer:{customer_id}"


def _tag(principal: str, secret: str) -> str:
    # Keyed, so the cookie does not show the CRM's customer id to whoever reads it.
    return keyed_hash(secret, "principal", principal, length=16)


def _mac(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign(
    conversation_id: str, secret: str, *, principal: str = "", issued_at: int | None = None
) -> str:
    """The signed token of a conversation started at `issued_at` (now) for `principal`."""
    issued = int(time.time()) if issued_at is None else int(issued_at)
    payload = f"{conversation_id}.{issued}.{_tag(principal, secret)}"
    return f"{payload}.{_mac(payload, secret)}"


def read(
    token: str | None,
    secret: str,
    *,
    principal: str | None = None,
    max_age: int = MAX_AGE_S,
    now: float | None = None,
) -> SignedConversation | None:
    """The conversation in a token we signed that has not expired, or None.

    With `principal`, only a token signed for that principal counts."""
    if not token or len(token) > 200:
        return None
    parts = _TOKEN.fullmatch(token)
    if parts is None:
        return None
    conversation_id, issued, tag, mac = parts.groups()
    if not hmac.compare_digest(mac, _mac(f"{conversation_id}.{issued}.{tag}", secret)):
        return None
    if principal is not None and not hmac.compare_digest(tag, _tag(principal, secret)):
        return None
    age = (time.time() if now is None else now) - int(issued)
    if not -_CLOCK_SKEW_S <= age <= max_age:
        return None
    return SignedConversation(conversation_id, int(issued))


def verify(
    token: str | None, secret: str, *, max_age: int = MAX_AGE_S, now: float | None = None
) -> str | None:
    """The conversation id in a token we signed that has not expired, or None."""
    signed = read(token, secret, max_age=max_age, now=now)
    return signed.conversation_id if signed else None
