"""Personal data masked in a turn's events before the tracker store writes them.

The tracker store (assistant/tracker_store.py) hands each turn's new events here on their way to
the table. Customer and bot text, the entity values NLU found, button titles and slot values
(strings, however nested) that could hold a type SUPPORTBOT_REDACT_ENTITIES names go to the
action server's POST /privacy/redact in one call: Presidio needs Python 3.11, this is Rasa's
3.10. The replayable customer token is dropped from message metadata and from the slot Rasa
copies it into (`session_started_metadata`). Only the stored copy changes: the turn's own tracker
keeps the raw values, so the bot still verifies an email in the turn it arrives; a later turn
reads the masked value (`<EMAIL_ADDRESS>`), which is still "set".

Why the tracker store and not Rasa's event broker: Rasa publishes to the broker from the
store's `save`, beside writing the same events; a broker only copies events elsewhere and cannot
change what the store keeps, so masking there would leave the raw transcript in the table.

If the call fails (action server down, slower than TIMEOUT_SECONDS, any error) the strings that
needed masking are stored as PLACEHOLDER, never raw, and a warning says how many (no text).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from common.stored_pii import PATTERN_TYPES, REDACT_ENTITIES_VARIABLE, could_hold

logger = logging.getLogger(__name__)

PLACEHOLDER = "<UNREDACTED_TEXT_WITHHELD>"
# The call itself takes about a millisecond, in threads of its own on the action server. Kept
# short: with a hung action server the customer already waited SUPPORTBOT_ACTION_TIMEOUT (3 s)
# for the apology, and this comes on top of it.
TIMEOUT_SECONDS = 3.0
REDACT_PATH = "/privacy/redact"
# Metadata a customer message may carry that would let whoever reads the table act as the
# customer (a signed token is valid for its whole lifetime).
REPLAYABLE_KEYS = frozenset({"customer_token"})

# A place in an event that holds a string: read it, then write its masked value back.
_Place = tuple[Any, Any]


class TranscriptRedactor:
    """Masks the stored copies of events through the action server (see the module docstring)."""

    def __init__(
        self,
        url: str | None,
        secret: str,
        entities: tuple[str, ...],
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.entities = entities
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> TranscriptRedactor:
        """The action server's route (from ACTION_SERVER_URL, the webhook's address), its secret
        and the types to mask, as `supportbot env` and the launcher give them to Rasa."""
        webhook = env.get("ACTION_SERVER_URL", "").strip()
        url = urlunsplit(urlsplit(webhook)._replace(path=REDACT_PATH)) if webhook else None
        raw = env.get(REDACT_ENTITIES_VARIABLE)
        entities = (
            tuple(sorted(PATTERN_TYPES))
            if raw is None
            else tuple(part.strip().upper() for part in raw.split(",") if part.strip())
        )
        return cls(url, env.get("SUPPORTBOT_ACTION_SECRET", ""), entities)

    async def stored_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Masks `events` (serialised, the caller's own copies) in place and returns them."""
        places: list[_Place] = []
        for data in events:
            _drop_replayable(data)
            for place in _text_places(data):
                if could_hold(place[0][place[1]], self.entities):
                    places.append(place)
        if places:
            # Each string once: the user's text is in the event and again in its parse data.
            texts = list(dict.fromkeys(container[key] for container, key in places))
            masked = dict(zip(texts, await self._masked(texts), strict=True))
            for container, key in places:
                container[key] = masked[container[key]]
        return events

    async def _masked(self, texts: list[str]) -> list[str]:
        try:
            if self.url is None:
                raise LookupError("ACTION_SERVER_URL is not set")
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.post(self.url, json={"texts": texts}, headers=self._headers) as reply,
            ):
                reply.raise_for_status()
                body = await reply.json()
            masked = body.get("texts") if isinstance(body, dict) else None
            if not isinstance(masked, list) or len(masked) != len(texts):
                raise ValueError("the redaction reply does not match the request")
            if not all(isinstance(text, str) for text in masked):
                raise ValueError("the redaction reply holds a value that is not text")
            return masked
        except Exception as error:  # whatever went wrong (a timeout too), nothing raw is stored
            logger.warning(
                "Could not mask %d strings of a turn (%s): stored as %s",
                len(texts),
                type(error).__name__,
                PLACEHOLDER,
            )
            return [PLACEHOLDER] * len(texts)


def _text_places(data: dict[str, Any]) -> Iterator[_Place]:
    """Where a serialised event holds text a customer typed, or one the bot may have echoed."""
    kind = data.get("event")
    if kind == "user":
        yield from _strings(data, "text")
        parse_data = data.get("parse_data")
        if isinstance(parse_data, dict):
            yield from _strings(parse_data, "text")
            yield from _entity_values(parse_data.get("entities"))
    elif kind == "bot":
        yield from _strings(data, "text")
        bot_data = data.get("data")
        buttons = bot_data.get("buttons") if isinstance(bot_data, dict) else None
        for button in buttons if isinstance(buttons, list) else []:
            if isinstance(button, dict):
                yield from _strings(button, "title")
    elif kind == "slot":
        yield from _strings(data, "value")
    elif kind == "entities":
        yield from _entity_values(data.get("entities"))


def _entity_values(entities: Any) -> Iterator[_Place]:
    for entity in entities if isinstance(entities, list) else []:
        if isinstance(entity, dict):
            yield from _strings(entity, "value")
            yield from _strings(entity, "text")


def _strings(container: Any, key: Any) -> Iterator[_Place]:
    """Every string at `container[key]`, down through lists and dicts."""
    value = container.get(key) if isinstance(container, dict) else container[key]
    if isinstance(value, str):
        yield container, key
    elif isinstance(value, dict):
        for inner in value:
            yield from _strings(value, inner)
    elif isinstance(value, list):
        for index in range(len(value)):
            yield from _strings(value, index)


def _drop_replayable(value: Any) -> None:
    """Removes the replayable keys from every dict in `value`."""
    if isinstance(value, dict):
        for key in REPLAYABLE_KEYS & value.keys():
            del value[key]
        inner_values: Any = value.values()
    elif isinstance(value, list):
        inner_values = value
    else:
        return
    for inner in inner_values:
        _drop_replayable(inner)
