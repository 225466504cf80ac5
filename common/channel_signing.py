"""What the web app signs for the Rasa server's REST channel, and the per-client key.

The web app (supportbot/rasa_client.py) signs each request it posts to the REST channel;
the channel (assistant/channels.py, SignedRestInput) answers only requests whose signature is
fresh and covers the exact body, so only the web app, which has checked the browser's signed
conversation cookie, can speak for a conversation. Both hold SUPPORTBOT_SESSION_SECRET; hence
standard library only.

Each use of the shared key hashes its own label first, so a value signed for one purpose (a
conversation id, a request, a client address) never verifies as another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from common.keyed_hashes import keyed_hash

TIMESTAMP_HEADER = "X-Supportbot-Timestamp"
SIGNATURE_HEADER = "X-Supportbot-Signature"
# How old (or how far ahead, between two clocks) a signed request may be; against replays.
MAX_AGE_S = 60

_REQUEST_LABEL = b"supportbot rest request v1\n"


def _request_mac(timestamp: str, body: bytes, secret: str) -> str:
    message = _REQUEST_LABEL + timestamp.encode("ascii") + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_request(body: bytes, secret: str, *, now: float | None = None) -> dict[str, str]:
    """The headers that sign `body` (the exact bytes sent) at the current time."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: _request_mac(timestamp, body, secret)}


def signed_json(message: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """`message` as the JSON body to post, and the headers that go with it (signature included)."""
    body = json.dumps(message).encode()
    return body, {"Content-Type": "application/json", **sign_request(body, secret)}


def verify_request(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    secret: str,
    *,
    now: float | None = None,
) -> bool:
    """True when `signature` signs `body` at `timestamp`, within MAX_AGE_S of now."""
    if not secret or not timestamp or not signature:
        return False
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_S:
        return False
    return hmac.compare_digest(signature.encode(), _request_mac(timestamp, body, secret).encode())


def client_key(address: str, secret: str) -> str:
    """An opaque, stable key for a client address: counts failures per client without keeping
    (or logging) the address itself."""
    return keyed_hash(secret, "client", address)
