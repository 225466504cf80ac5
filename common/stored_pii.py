"""Which strings could hold the personal data that is masked before storage.

Masking costs a Presidio run, and from Rasa a call to the action server, so both sides skip what
cannot hold a masked type: the Rasa tracker store before it asks the action server, and the CRM
before it calls the detector. The pattern types all need a digit, or an '@' for an email; names
and street addresses can be any free text. Standard library only: both interpreters use it.
"""

from __future__ import annotations

from collections.abc import Collection

# Types found by patterns: a card, IBAN or phone number has digits, an email an '@'.
PATTERN_TYPES = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE"})
# The types masked before storage, comma-separated: settings.py reads and checks it, and hands
# it to Rasa through `Settings.rasa_environment`.
REDACT_ENTITIES_VARIABLE = "SUPPORTBOT_REDACT_ENTITIES"


def could_hold(text: str, entities: Collection[str]) -> bool:
    """Whether `text` may contain personal data of one of `entities`."""
    patterned = not PATTERN_TYPES.isdisjoint(entities) and (
        "@" in text or any(character.isdigit() for character in text)
    )
    free = not PATTERN_TYPES.issuperset(entities) and any(c.isalpha() for c in text)
    return patterned or free
