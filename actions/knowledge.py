"""Informational questions answered from the knowledge base by the retrieval model.

The answer is given only when the best article's similarity clears the threshold calibrated on
a dev set (data/kb/threshold.json); below it the customer picks from the closest articles or is
offered a person. A complaint is not a question: when the intent is `complaint` or the message
is strongly negative, no article is given as the answer; the customer is offered a complaint
ticket or a person, with the closest article as one choice. Every choice is logged with its
score as a decision.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action

from actions.crm import CRMUnavailable, run_for_customer
from supportbot.escalation import NEGATIVE
from supportbot.kb import Answer, get_knowledge_base

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

# Below the threshold, articles this close are still worth offering as "did you mean".
CLARIFY_MARGIN = 0.15
MAX_CHOICES = 2


def complaint_score(intent: str | None, sentiment: object) -> float | None:
    """The sentiment score that makes this message a complaint rather than a question, or None.

    A `complaint` intent always counts (its score, or -1 without one); otherwise a score at or
    below the escalation decision's "negative" (-0.5).
    """
    score = sentiment.get("score") if isinstance(sentiment, dict) else None
    if intent == "complaint":
        return float(score) if isinstance(score, int | float) else -1.0
    if isinstance(score, int | float) and score <= NEGATIVE:
        return float(score)
    return None


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        question = ((tracker.latest_message or {}).get("text") or "").strip()
        if question.startswith("/"):
            # A button (the two-stage fallback's "did you mean") named the intent itself.
            await self._answer_chosen_intent(dispatcher, tracker)
            return []
        if not question:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        try:
            answer = await asyncio.to_thread(lambda: get_knowledge_base().answer(question))
        except Exception as error:  # the customer still gets a way forward
            # The type only: an error's text (a database's, say) can quote the customer.
            logger.error("Knowledge base lookup failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_kb_unavailable")
            return []
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        score = complaint_score(intent, tracker.get_slot("sentiment"))
        if score is not None:
            kind, reason = self._acknowledge_complaint(dispatcher, answer, intent, score)
        else:
            kind, reason = self._reply(dispatcher, answer)
        await _log(tracker, kind, reason, answer)
        return []

    @staticmethod
    def _acknowledge_complaint(
        dispatcher: CollectingDispatcher, answer: Answer, intent: str | None, score: float
    ) -> tuple[str, str]:
        buttons = [
            {"title": "Report the problem", "payload": "/complaint"},
            {"title": "Talk to a person", "payload": "/contact_human_agent"},
        ]
        best = answer.best
        offered = best is not None and best.score >= answer.threshold - CLARIFY_MARGIN
        if offered and best is not None:
            # The article's title sends it back as a question, as in "did you mean".
            buttons.append({"title": best.title, "payload": best.title})
        dispatcher.utter_message(response="utter_complaint_acknowledged", buttons=buttons)
        closest = (
            f"'{best.slug}' ({best.score:.2f}) offered as a choice"
            if offered and best
            else "no article close enough to offer"
        )
        return (
            "kb_complaint",
            f"A complaint, not a question (intent {intent}, sentiment {score:.2f}): no article as "
            f"the answer; offered a complaint ticket and a person, {closest}.",
        )

    @staticmethod
    async def _answer_chosen_intent(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""
        try:
            article = await asyncio.to_thread(
                lambda: get_knowledge_base().article_for_intent(intent)
            )
        except Exception as error:  # the customer still gets a way forward
            # The type only: an error's text (a database's, say) can quote the customer.
            logger.error("Knowledge base lookup failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_kb_unavailable")
            return
        if article is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return
        dispatcher.utter_message(text=article.body)
        reason = (
            f"Answered with article '{article.slug}', written for the intent '{intent}' "
            "that the customer chose."
        )
        await _log(tracker, "kb_answer", reason, Answer(best=None, confident=True))

    @staticmethod
    def _reply(dispatcher: CollectingDispatcher, answer: Answer) -> tuple[str, str]:
        best = answer.best
        if best is not None and answer.confident:
            dispatcher.utter_message(text=best.body)
            return (
                "kb_answer",
                f"Answered with article '{best.slug}' (similarity {best.score:.2f} >= "
                f"threshold {answer.threshold:.2f}).",
            )
        close = [
            hit
            for hit in ([best] if best else []) + list(answer.alternatives)
            if hit.score >= answer.threshold - CLARIFY_MARGIN
        ][:MAX_CHOICES]
        if close:
            # A button sends the article's title back as a question, which retrieves it.
            dispatcher.utter_message(
                response="utter_kb_clarify",
                buttons=[{"title": hit.title, "payload": hit.title} for hit in close]
                + [
                    {"title": "Something else: talk to a person", "payload": "/contact_human_agent"}
                ],
            )
            shown = ", ".join(f"'{hit.slug}' ({hit.score:.2f})" for hit in close)
            return (
                "kb_clarify",
                f"No article cleared the threshold {answer.threshold:.2f}; asked which of "
                f"{shown} was meant.",
            )
        dispatcher.utter_message(response="utter_kb_no_answer")
        best_text = f"best '{best.slug}' at {best.score:.2f}" if best else "no articles"
        return (
            "kb_no_answer",
            f"No article close enough ({best_text}, threshold {answer.threshold:.2f}); "
            "offered a person.",
        )


async def _log(tracker: Tracker, kind: str, reason: str, answer: Answer) -> None:
    details = {
        "hits": [
            {"slug": hit.slug, "score": round(hit.score, 4)}
            for hit in ([answer.best] if answer.best else []) + list(answer.alternatives)
        ],
        "intent": ((tracker.latest_message or {}).get("intent") or {}).get("name"),
    }
    with suppress(CRMUnavailable):  # the answer has been given; the log is best effort
        await run_for_customer(
            tracker,
            lambda crm, customer_id: crm.decisions.log(
                tracker.sender_id, kind, reason, customer_id=customer_id, details=details
            ),
        )
