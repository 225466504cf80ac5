"""The console's rich transcript: every message of a conversation with what the bot made of it.

Built from the Rasa tracker's raw events. A customer turn carries the intent and confidence NLU
gave the message, its entities, its sentiment and the actions the bot ran in answer; bot, agent
and notice turns are the messages the customer saw. Which messages count, and how quick-reply
clicks and two-stage-fallback replays show, is `supportbot.rasa_client.indexed_messages`' business.
The CRM adds the decisions the bot logged, with their reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.models import Interaction, as_utc, utc_iso
from supportbot.crm.repositories import Decisions
from supportbot.rasa_client import ChatMessage, indexed_messages

# Every turn ends with the bot listening again; listing that on each message is noise.
QUIET_ACTIONS = frozenset({"action_listen"})


@dataclass(frozen=True)
class CustomerMessage:
    """A message the customer typed (quick-reply payloads left out), as NLU parsed it."""

    text: str
    entities: list[dict[str, Any]]


def _entities(parse_data: dict[str, Any]) -> list[dict[str, Any]]:
    entities = []
    for entity in parse_data.get("entities") or []:
        item = {
            "entity": entity.get("entity"),
            "value": entity.get("value"),
            "start": entity.get("start"),
            "end": entity.get("end"),
        }
        if entity.get("role"):
            item["role"] = entity["role"]
        entities.append(item)
    return entities


def _sentiment(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and "label" in value and "score" in value:
        return {"label": value["label"], "score": value["score"]}
    return None


def _slot_sentiment(events: Sequence[dict[str, Any]], start: int) -> dict[str, Any] | None:
    """The `sentiment` slot action_analyse_message set for the user event before `start`."""
    for event in events[start:]:
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") == "sentiment":
            return _sentiment(event.get("value"))
    return None


def _moment(value: Any) -> float | None:
    try:
        return as_utc(datetime.fromisoformat(value)).timestamp()
    except (TypeError, ValueError):
        return None


class _RecordedSentiments:
    """The CRM's per-message sentiments (no text), for messages whose slot event is missing:
    each is the first unused entry with the same intent recorded between the message and the
    next customer message (Rasa and the action server share a clock)."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self._entries = [(_moment(e.get("at")), e) for e in entries]
        self._used: set[int] = set()

    def find(self, intent: str | None, after: float | None, before: float | None) -> Any:
        if after is None:
            return None
        for position, (at, entry) in enumerate(self._entries):
            if position in self._used or at is None or at < after:
                continue
            if before is not None and at >= before:
                return None
            if entry.get("intent") in (None, intent):
                self._used.add(position)
                return _sentiment(entry)
        return None


def _other_turn(message: ChatMessage) -> dict[str, Any]:
    fields = message.as_dict()
    notice = fields.get("notice")
    kind = "notice" if notice else ("agent" if message.sender == "agent" else "bot")
    turn: dict[str, Any] = {
        "kind": kind,
        "text": message.text,
        "timestamp": message.timestamp,
        "buttons": list(message.buttons),
    }
    if notice:
        turn["notice"] = notice
    if kind == "agent":
        turn["agent_name"] = fields.get("agent_name")
    return turn


def build_turns(
    events: Sequence[dict[str, Any]], recorded_sentiments: Iterable[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The transcript's turns, oldest first (see the module docstring)."""
    messages = indexed_messages(list(events))
    customer_at = [index for index, message in messages if message.sender == "customer"]
    # Everything up to the next message the customer saw themselves send is one turn's answer,
    # including what ran after a two-stage fallback replayed the message.
    turn_end = dict(pairwise([*customer_at, len(events)]))
    recorded = _RecordedSentiments(recorded_sentiments)
    turns: list[dict[str, Any]] = []
    for index, message in messages:
        if message.sender != "customer":
            turns.append(_other_turn(message))
            continue
        event, end = events[index], turn_end[index]
        parse_data = event.get("parse_data") or {}
        intent = parse_data.get("intent") or {}
        sentiment = _slot_sentiment(events, index + 1)
        if sentiment is None:
            before = events[end].get("timestamp") if end < len(events) else None
            sentiment = recorded.find(intent.get("name"), event.get("timestamp"), before)
        turns.append(
            {
                "kind": "customer",
                "text": message.text,
                "timestamp": message.timestamp,
                "intent": intent.get("name"),
                "confidence": intent.get("confidence"),
                "entities": _entities(parse_data),
                "sentiment": sentiment,
                "actions": [
                    e["name"]
                    for e in events[index + 1 : end]
                    if e.get("event") == "action"
                    and e.get("name")
                    and e["name"] not in QUIET_ACTIONS
                ],
            }
        )
    return turns


def customer_messages(events: Sequence[dict[str, Any]]) -> list[CustomerMessage]:
    """The messages the customer typed (quick-reply payloads such as "/affirm" left out)."""
    typed = []
    for index, message in indexed_messages(list(events)):
        text = events[index].get("text") or ""
        if message.sender == "customer" and not text.startswith("/"):
            typed.append(CustomerMessage(text, _entities(events[index].get("parse_data") or {})))
    return typed


def decisions(session: Session, sender_id: str) -> list[dict[str, Any]]:
    """What the bot decided on its own in this conversation, and why, oldest first."""
    return [
        {
            "kind": decision.kind,
            "reason": decision.reason,
            "at": utc_iso(decision.created_at),
            "details": dict(decision.details or {}),
        }
        for decision in Decisions(session).for_conversation(sender_id)
    ]


def recorded_sentiments(session: Session, sender_id: str) -> list[dict[str, Any]]:
    """The CRM's per-message sentiments of the conversation (see `build_turns`)."""
    recorded = session.scalar(
        select(Interaction.message_sentiments).where(Interaction.sender_id == sender_id)
    )
    return list(recorded or [])
