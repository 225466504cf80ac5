"""Customer free text as the CRM stores it: with the personal data of the types
SUPPORTBOT_REDACT_ENTITIES names masked (`<CREDIT_CARD>`), like the transcripts.

The repositories call `masked` once per field they write from what a customer or an agent typed:
ticket subjects and descriptions, cancellation reasons, CSAT comments, agents' review notes.
Decisions' reasons and details and handoff reasons are the assistant's own sentences and
numbers (intents, scores, order numbers, article slugs): not masked. A refund's reason is
written by the shop's systems, never from the chat.
"""

from __future__ import annotations

from common.stored_pii import could_hold
from supportbot.privacy.pii import get_pii_detector
from supportbot.settings import get_settings


def masked(text: str) -> str:
    """`text` with the stored types of personal data replaced by their type's name."""
    entities = get_settings().privacy.stored_entities
    if not could_hold(text, entities):
        return text  # spares the detector (and loading it) for what cannot hold any
    return get_pii_detector().redact(text, entities)
