"""When an upset customer should get a person: the rule, and the reason an agent will read.

Negativity comes from the sentiment model's score (P(positive) - P(negative)). That score says
how sure the model is, not how strong the feeling is: "I am disappointed with the delay" scores
as low as an outburst. So "very negative" also asks VADER's lexicon, which weighs intensifiers,
capitals and exclamation marks, for the intensity of the latest message.
"""

from __future__ import annotations

from supportbot.crm.profile import HIGH_VALUE_TIERS

# Model scores at or below this count as negative messages.
NEGATIVE = -0.5
# A negative message whose VADER compound is at or below this is very negative.
VERY_INTENSE = -0.7
NEGATIVE_MESSAGES_TO_ESCALATE = 2


def escalation_reason(
    scores: list[float], tier: str | None = None, intensity: float | None = None
) -> str | None:
    """Why this conversation should go to a human now, or None.

    `scores` are the conversation's message scores so far, the newest last; `intensity` is the
    VADER compound of the newest message. Only a negative newest message escalates, so the
    customer is never handed over after calming down.
    """
    if not scores or scores[-1] > NEGATIVE:
        return None
    latest = scores[-1]
    if intensity is not None and intensity <= VERY_INTENSE:
        return (
            f"one very negative message (sentiment {latest:.2f}, "
            f"intensity {intensity:.2f} <= {VERY_INTENSE})"
        )
    if tier in HIGH_VALUE_TIERS:
        return f"a negative message (sentiment {latest:.2f}) from a {tier}-tier customer"
    negatives = [s for s in scores if s <= NEGATIVE]
    if len(negatives) >= NEGATIVE_MESSAGES_TO_ESCALATE:
        shown = ", ".join(f"{s:.2f}" for s in negatives[-NEGATIVE_MESSAGES_TO_ESCALATE:])
        return f"{len(negatives)} negative messages in this conversation (sentiment {shown})"
    return None
