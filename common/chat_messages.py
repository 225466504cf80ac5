"""A transcript message as the customer and the agent see it.

Used by the web app (history from the tracker) and by the Rasa server's socket.io channel (live
messages), so both show a message alike; hence no dependency beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# The longest customer message the assistant takes, through either door: the web app's REST proxy
# and the Rasa server's socket.io channel.
MAX_MESSAGE_LENGTH = 1000
# A conversation (Rasa sender) id: nothing that could smuggle a path or a query into a URL.
# Checked with fullmatch: `$` would let a trailing newline through.
SENDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A host page's signed customer token, as either door passes it on.
MAX_CUSTOMER_TOKEN_LENGTH = 2048
HANDBACK_TEXT = "You're back with the assistant. How else can I help?"
# Status lines (not chat bubbles) the console posts, named in a bot event's metadata["notice"].
AGENT_JOINED = "agent_joined"
HANDBACK = "handback"
NOTICES = frozenset({AGENT_JOINED, HANDBACK})


@dataclass(frozen=True)
class ChatMessage:
    """One message of a transcript, as a customer or agent sees it."""

    sender: str  # "customer", "bot" or "agent"
    text: str
    timestamp: float | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    notice: str | None = None  # "agent_joined" | "handback": a status line, not a bubble
    agent_name: str | None = None  # the agent's first name, on an agent's message

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bot_message(
    text: str | None,
    timestamp: float | None,
    buttons: list[dict[str, Any]] | None,
    metadata: dict[str, Any],
) -> ChatMessage | None:
    """A bot or agent message from a BotUttered's parts; None when it shows nothing."""
    if not text and not buttons:
        return None
    notice = metadata.get("notice")
    if metadata.get("handback"):  # how hand-backs were marked before notices
        notice = HANDBACK
    agent_name = metadata.get("agent_name") if metadata.get("agent") else None
    return ChatMessage(
        "agent" if metadata.get("agent") else "bot",
        text or "",
        timestamp,
        [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in buttons or []
        ],
        notice=notice if notice in NOTICES else None,
        agent_name=str(agent_name) if agent_name else None,
    )
