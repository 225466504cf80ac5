"""Rate limits of the web app: per client address and per conversation on the chat API, per client
address on the console login; a refusal is a 429 with Retry-After.

Counting is the `limits` library's moving window (no burst at a window's edge, and an exact
Retry-After: when the oldest counted request leaves the window; its memory grows with the
requests of the last window, not with the number of clients), in this process or in Redis when
SUPPORTBOT_RATE_LIMIT_STORAGE names one, so that several web workers share the counts. Keys and
log lines carry a keyed hash of the address or conversation, never the value. Per-account lockout
lives with the accounts (the CRM).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from common.client_addresses import client_group
from common.conversation_ids import SignedConversation
from common.keyed_hashes import keyed_hash
from supportbot.settings import WebGuards
from supportbot.web.dependencies import WidgetConversation

logger = logging.getLogger(__name__)

# A Redis that hangs must not hold a customer's request for long: counting then fails open.
_REDIS_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Rule:
    """One limit: its name (in keys and logs) and its rates, all of which must allow a hit."""

    name: str
    rates: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, rates: str) -> Rule:
        return cls(name, tuple(parse_many(rates)))


class RateLimiter:
    """The web app's rules over one storage."""

    def __init__(self, guards: WebGuards, key_secret: str, key_prefix: str = "supportbot") -> None:
        if guards.rate_limit_storage:
            storage = storage_from_string(
                guards.rate_limit_storage,
                key_prefix=key_prefix,
                wrap_exceptions=True,
                socket_timeout=_REDIS_TIMEOUT_S,
                socket_connect_timeout=_REDIS_TIMEOUT_S,
            )
        else:
            storage = storage_from_string("memory://", wrap_exceptions=True)
        self._strategy = MovingWindowRateLimiter(storage)
        self._secret = key_secret
        self.chat_send_per_client = Rule.parse("chat-send-client", guards.chat_send_per_client)
        self.chat_send_per_conversation = Rule.parse(
            "chat-send-conversation", guards.chat_send_per_conversation
        )
        self.chat_read_per_client = Rule.parse("chat-read-client", guards.chat_read_per_client)
        self.chat_read_per_conversation = Rule.parse(
            "chat-read-conversation", guards.chat_read_per_conversation
        )
        self.login_per_client = Rule.parse("login-client", guards.login_per_client)

    def pseudonym(self, value: str) -> str:
        """A keyed hash: the same client or conversation always gets the same one, and nobody
        without the key can tell which it is."""
        return keyed_hash(self._secret, "rate limits", value, length=16)

    def hit(self, rule: Rule, value: str) -> None:
        """Count one request of `value` (an address or a conversation id) against `rule`; 429
        with Retry-After once any of its rates is spent."""
        who = self.pseudonym(value)
        try:
            for rate in rule.rates:
                if not self._strategy.hit(rate, rule.name, who):
                    reset_at = self._strategy.get_window_stats(rate, rule.name, who).reset_time
                    retry_after = max(1, math.ceil(reset_at - time.time()))
                    break
            else:
                return
        except StorageError as error:
            # Fail open: a rate limiter outage must not take the chat down with it.
            logger.error("rate limit: the storage failed (%s); let through", type(error).__name__)
            return
        logger.warning("rate limit: %s refused %s (%s)", rule.name, who, rate)
        raise HTTPException(
            429,
            f"Too many requests: please try again in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )


def client_address(request: Request) -> str:
    """The client's address (the peer's, or what a trusted proxy says: app.py), for IPv6 its /64
    (common/client_addresses.py)."""
    return client_group(request.client.host if request.client else "unknown")


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def _per_client_and_conversation(
    per_client: Callable[[RateLimiter], Rule], per_conversation: Callable[[RateLimiter], Rule]
) -> Callable[[Request, SignedConversation], None]:
    # Sync: FastAPI runs it in a worker thread, so a Redis round trip never blocks the loop.
    def check(request: Request, conversation: WidgetConversation) -> None:
        limiter = _limiter(request)
        limiter.hit(per_client(limiter), client_address(request))
        limiter.hit(per_conversation(limiter), conversation.conversation_id)

    return check


chat_send_limit = Depends(
    _per_client_and_conversation(
        lambda limiter: limiter.chat_send_per_client,
        lambda limiter: limiter.chat_send_per_conversation,
    )
)
chat_read_limit = Depends(
    _per_client_and_conversation(
        lambda limiter: limiter.chat_read_per_client,
        lambda limiter: limiter.chat_read_per_conversation,
    )
)


def _login_per_client(request: Request) -> None:
    limiter = _limiter(request)
    limiter.hit(limiter.login_per_client, client_address(request))


login_limit = Depends(_login_per_client)
