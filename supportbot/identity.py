"""Signed customer tokens: how a logged-in customer's host page vouches for them.

The host page (which has its own login) asks its backend for a short-lived HS256 JWT whose
subject is the CRM customer id, and hands it to the widget. The widget forwards it as message
metadata; only the action server's signature check turns it into an identity. Metadata without a
valid signature, slots and entities never identify anyone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import jwt

if TYPE_CHECKING:
    from jwt.types import Options

ISSUER = "supportbot"
AUDIENCE = "supportbot-widget"
_ALGORITHM = "HS256"
# Tokens are short-lived; a little leeway absorbs clock skew between the host and us.
_LEEWAY_SECONDS = 10


class InvalidCustomerToken(ValueError):
    """The token is malformed, expired, or not signed with our secret."""


def issue_customer_token(
    customer_id: int, *, secret: str, ttl_seconds: int, now: float | None = None
) -> str:
    """Sign a token that identifies `customer_id` for `ttl_seconds`."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued_at = int(time.time() if now is None else now)
    claims = {
        "sub": str(customer_id),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_customer_token(token: str, *, secret: str, now: float | None = None) -> int:
    """Return the customer id a valid token vouches for.

    Raises:
        InvalidCustomerToken: for any token we did not sign, or one that has expired.
    """
    if not isinstance(token, str) or not token or len(token) > 2048:
        raise InvalidCustomerToken("token missing or too long")
    options: Options = {"require": ["exp", "iat", "sub", "iss", "aud"]}
    try:
        if now is None:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=_LEEWAY_SECONDS,
                options=options,
            )
        else:
            # PyJWT checks expiry against the wall clock; with an explicit `now` we check it here.
            claims = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={**options, "verify_exp": False, "verify_iat": False},
            )
            if int(claims["exp"]) + _LEEWAY_SECONDS < now:
                raise InvalidCustomerToken("token expired")
    except jwt.PyJWTError as error:
        raise InvalidCustomerToken(str(error)) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidCustomerToken("token subject is not a customer id")
    return int(subject)
