"""Nothing lost: every message answered, and every message stored in the tracker and the CRM."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from lab.load.bots import RunningBot
from lab.load.customers import Load
from supportbot.crm.models import Interaction

# CRM bookkeeping may run after the reply (off the hot path): wait this long for it to catch up.
CRM_CATCH_UP_S = 30.0


@dataclass(frozen=True)
class Stored:
    """What reached the stores, against what the customers said."""

    conversations: int
    messages: int
    unanswered: int  # errors, timeouts and empty replies
    missing_in_tracker: int
    extra_in_tracker: int  # user events the customers did not send (duplicates)
    crm_expected: int | None = None  # None: the bot has no CRM
    crm_recorded: int | None = None

    @property
    def ok(self) -> bool:
        crm_ok = self.crm_expected is None or self.crm_expected == self.crm_recorded
        return not (self.unanswered or self.missing_in_tracker or self.extra_in_tracker) and crm_ok


# The tracker store masks personal data (supportbot.privacy): `<EMAIL_ADDRESS>` stands for the
# email the customer typed. Text withheld because masking failed is lost from the transcript.
_MASK = re.compile(r"<(?!UNREDACTED_TEXT_WITHHELD>)[A-Z_]+>")


def _stored_as(sent: str, logged: str) -> bool:
    """Whether `logged` is `sent` as the tracker store keeps it (its personal data masked)."""
    if sent == logged:
        return True
    if not _MASK.search(logged):
        return False
    parts = _MASK.split(logged)
    return re.fullmatch(".+?".join(re.escape(part) for part in parts), sent, re.S) is not None


def _missing(sent: list[str], logged: list[str]) -> int:
    """How many sent messages are not in the tracker's user events, in order."""
    position = 0
    missing = 0
    for text in sent:
        found = next((i for i in range(position, len(logged)) if _stored_as(text, logged[i])), None)
        if found is None:
            missing += 1
        else:
            position = found + 1
    return missing


def count_stored(bot: RunningBot, loads: list[Load], crm_url: str | None) -> Stored:
    conversations: dict[str, list[str]] = {}
    unanswered = 0
    for load in loads:
        conversations.update(load.conversations())
        unanswered += len(load.unanswered())
    missing = extra = 0
    for sender, sent in conversations.items():
        events = bot.tracker(sender).get("events", [])
        logged = [event.get("text") or "" for event in events if event.get("event") == "user"]
        lost = _missing(sent, logged)
        missing += lost
        extra += max(0, len(logged) - (len(sent) - lost))
    messages = sum(len(sent) for sent in conversations.values())
    if crm_url is None:
        return Stored(len(conversations), messages, unanswered, missing, extra)
    # action_analyse_message records one sentiment per typed message (not button payloads).
    expected = {
        sender: sum(1 for text in sent if not text.startswith("/"))
        for sender, sent in conversations.items()
    }
    recorded = _crm_counts(crm_url, expected)
    return Stored(
        len(conversations),
        messages,
        unanswered,
        missing,
        extra,
        sum(expected.values()),
        sum(recorded.values()),
    )


def _crm_counts(crm_url: str, expected: dict[str, int]) -> dict[str, int]:
    engine = create_engine(crm_url)
    deadline = time.monotonic() + CRM_CATCH_UP_S
    try:
        while True:
            with Session(engine) as session:
                rows = session.execute(
                    select(Interaction.sender_id, Interaction.message_sentiments).where(
                        Interaction.sender_id.in_(list(expected))
                    )
                )
                recorded = {
                    sender: len(json.loads(s) if isinstance(s, str) else s or [])
                    for sender, s in rows
                }
            if recorded == expected or time.monotonic() > deadline:
                return recorded
            time.sleep(1)
    finally:
        engine.dispose()
