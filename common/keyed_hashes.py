"""Keyed hashes: how the project names a person, a client or a conversation without keeping it.

One secret serves several purposes (the rate limits, the audit trail, the verification guard,
the channels' client key, the cookie's owner tag); each purpose hashes under a key of its own
derived from the secret, so a value hashed for one purpose cannot be matched against another.
Standard library only: both interpreters use it.
"""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(secret: str, purpose: str, value: str, *, length: int = 32) -> str:
    """`length` hex digits of HMAC-SHA256(HMAC-SHA256(secret, purpose), value)."""
    key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]
