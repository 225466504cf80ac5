"""The CSAT question at the end of a conversation: a 1-5 rating and an optional comment."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from actions.crm import CRMUnavailable, run_for_customer
from supportbot.crm.customer_input import customer_text
from supportbot.crm.repositories import MAX_CSAT_COMMENT_LENGTH
from supportbot.store import CRM

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

# Stored in a slot when the customer passes on the question (or moves on to something else).
SKIPPED = "skipped"
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(r"^\D*?\b([1-5])\b(?:\s*(?:/\s*5|out of 5|stars?))?\D*$", re.IGNORECASE)
_NO_COMMENT = re.compile(r"^\s*(no|nope|nothing|none|skip|no thanks?|all good|n/a)\W*$", re.I)


def parse_rating(value: Any) -> int | None:
    """'4', '4 stars', 'four', '5/5', 4 -> the rating; anything else -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value) if 1 <= value <= 5 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in _WORDS:
        return _WORDS[text]
    match = _RATING.match(text)
    return int(match.group(1)) if match else None


def _declined(tracker: Tracker) -> bool:
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent in {"deny", "goodbye"}


class ValidateCsatForm(FormValidationAction):
    def name(self) -> str:
        return "validate_csat_form"

    async def validate_csat_rating(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        rating = parse_rating(slot_value)
        if rating is not None:
            return {"csat_rating": str(rating)}
        # Anything that is not a rating ends the survey: the customer has moved on.
        return {"csat_rating": SKIPPED, "csat_comment": SKIPPED}

    async def validate_csat_comment(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = customer_text(slot_value, multiline=True)
        if not text or text.startswith("/") or _NO_COMMENT.match(text) or _declined(tracker):
            return {"csat_comment": SKIPPED}
        return {"csat_comment": text[:MAX_CSAT_COMMENT_LENGTH]}


class ActionRecordCsat(Action):
    """Stores the rating on the conversation's interaction and refreshes the profile."""

    def name(self) -> str:
        return "action_record_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        rating = parse_rating(tracker.get_slot("csat_rating"))
        comment = tracker.get_slot("csat_comment")
        reset = [SlotSet("csat_rating", None), SlotSet("csat_comment", None)]
        if rating is None:
            dispatcher.utter_message(response="utter_csat_skipped")
            return reset
        sender_id = tracker.sender_id

        def work(crm: CRM, customer_id: int | None) -> None:
            crm.interactions.record_csat(sender_id, rating, None if comment == SKIPPED else comment)
            if customer_id is not None:
                crm.profiles.refresh(customer_id)

        try:
            await run_for_customer(tracker, work)
        except CRMUnavailable:
            # The rating stays in the transcript (slot events), so it can be recovered later.
            logger.error("Could not store a CSAT rating: the CRM is unavailable")
        dispatcher.utter_message(response="utter_csat_thanks")
        return reset
