"""Every customer message's sentiment, and the escalation decision it may trigger.

Rasa runs `action_analyse_message` after each customer message, through the custom slot
mappings of `sentiment` and `escalation_reason` (domain.yml). It records the sentiment in the
tracker (the `sentiment` slot event right after the message) and in the CRM interaction, and
asks the learned escalation decision (supportbot.escalation) about the customer's recent
messages; a hand-over is logged with its probability and the features that drove it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import numpy as np
from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.crm import CRMUnavailable, run_for_customer, run_in_crm
from supportbot.encoder import get_sentence_encoder
from supportbot.escalation import MAX_TURNS, Decision, Turn, get_escalation_model
from supportbot.insights.queries import valued_at_risk
from supportbot.sentiment import Sentiment, VaderSentiment, get_sentiment_model
from supportbot.sentiment.features import normalise
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)


_lexicon: VaderSentiment | None = None
HANDOFF_INTENT = "contact_human_agent"


def _analyse(text: str) -> tuple[str, Sentiment, float, np.ndarray]:
    """The model's sentiment, VADER's compound as the message's intensity, and the message's
    sentence vector (the escalation decision reads its wording)."""
    global _lexicon
    model = get_sentiment_model()
    (sentiment,) = model.analyse([text])
    if _lexicon is None:
        _lexicon = VaderSentiment()
    (intensity,) = _lexicon.analyse([text])
    # The text as the sentiment head encoded it, so the shared encoder remembers it.
    (encoding,) = get_sentence_encoder().encode([normalise(text)])
    return model.name, sentiment, intensity.score, encoding.sentence_vector


def _earlier_turns(tracker: Tracker) -> list[Turn]:
    """This session's earlier customer messages with the scores recorded right after each.

    Button payloads and messages whose analysis failed have no scores and are left out.
    """
    events = tracker.events
    start = 0
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            start = index
            break
    turns: list[Turn] = []
    text: str | None = None
    for event in events[start:]:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or None
        elif kind == "slot" and event.get("name") == "sentiment" and text is not None:
            value = event.get("value")
            if isinstance(value, dict) and "score" in value and "intensity" in value:
                turns.append(Turn(text, float(value["score"]), float(value["intensity"])))
            text = None
    # The newest user event is the message being analysed: it has no slot event yet, and it
    # completes the decision's window of MAX_TURNS messages.
    return turns[-(MAX_TURNS - 1) :]


def _decide(turns: list[Turn], tier: str | None, vector: np.ndarray) -> Decision | None:
    try:
        return get_escalation_model().decide(turns, tier, vector)
    except Exception as error:  # without a decision the bot carries on; the log says why
        logger.error("Escalation decision failed: %s", type(error).__name__)
        return None


def _already_analysed(tracker: Tracker) -> bool:
    """Whether this message has its sentiment already.

    Rasa runs slot extraction again when a form is activated, for the same message: recording
    it twice would count one negative message as two.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == "sentiment":
            return True
    return False


class ActionAnalyseMessage(Action):
    def name(self) -> str:
        return "action_analyse_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        text = (message.get("text") or "").strip()
        if not text or _already_analysed(tracker):
            return []
        intent = (message.get("intent") or {}).get("name")
        if text.startswith("/"):
            # A button payload ("/affirm") carries no feelings of its own; its intent still
            # counts, and the empty slot marks the message as seen.
            with suppress(CRMUnavailable):
                await run_in_crm(
                    lambda crm: crm.interactions.record_intent(tracker.sender_id, intent)
                )
            return [SlotSet("sentiment", None)]
        try:
            model_name, sentiment, intensity, vector = await asyncio.to_thread(_analyse, text)
        except Exception as error:  # the conversation goes on without a sentiment
            # The type only: an error's text (a database's, say) can quote the customer.
            logger.error("Sentiment analysis failed: %s", type(error).__name__)
            return []
        events = [
            SlotSet(
                "sentiment",
                {
                    "label": sentiment.label,
                    "score": round(sentiment.score, 4),
                    "intensity": round(intensity, 4),
                    "model": model_name,
                },
            )
        ]
        # A customer who asked for a person gets one from the handoff flow, without the apology
        # for a conversation gone wrong: no decision, but the message is still recorded.
        turns = (
            []
            if intent == HANDOFF_INTENT
            else [*_earlier_turns(tracker), Turn(text, sentiment.score, intensity)]
        )
        try:
            reason = await self._record(tracker, intent, sentiment, turns, vector)
        except CRMUnavailable:
            # Without the CRM there is no tier; the messages alone may still call for a person.
            decision = _decide(turns, None, vector) if turns else None
            reason = decision.reason if decision and decision.escalate else None
        if reason:
            events.append(SlotSet("escalation_reason", reason))
        return events

    @staticmethod
    async def _record(
        tracker: Tracker,
        intent: str | None,
        sentiment: Sentiment,
        turns: list[Turn],
        vector: np.ndarray,
    ) -> str | None:
        sender_id = tracker.sender_id

        def work(crm: CRM, customer_id: int | None) -> str | None:
            # Every message's intent too, so the console's intent filter and analytics see
            # conversations in which only a form ran.
            interaction = crm.interactions.record_sentiment(
                sender_id, intent=intent, label=sentiment.label, score=round(sentiment.score, 4)
            )
            # The stored profile: refreshed when a conversation ends, not on every message.
            tier = crm.profiles.get_or_refresh(customer_id).tier if customer_id else None
            if interaction.handoff or not turns:  # already with a person, or asked for one
                return None
            decision = _decide(turns, tier, vector)
            # What the insights run knows: a valued customer likely to leave who is unhappy
            # now goes to a person even when the conversation alone would not call for one.
            at_risk = valued_at_risk(crm.session, customer_id) if customer_id else None
            escalate = decision is not None and decision.escalate
            if not escalate and not (at_risk and sentiment.label == "negative"):
                return None
            if escalate and decision is not None:
                reason = decision.reason
            else:
                reason = f"unhappy now, and {at_risk.sentence}" if at_risk else ""
            details: dict[str, Any] = {**(decision.details() if decision else {}), "tier": tier}
            if at_risk:
                details["insights"] = at_risk.details()
                if escalate:
                    reason = f"{reason}; also {at_risk.sentence}"
            crm.decisions.log(
                sender_id,
                "escalate",
                f"Handed to a person: {reason}.",
                customer_id=customer_id,
                details=details,
            )
            return reason

        return await run_for_customer(tracker, work)
