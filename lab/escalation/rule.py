"""The escalation rule the learned decision replaced: the baseline it is measured against.

Three hand-set thresholds: one message at or below -0.5 whose VADER compound is at or below
-0.7; or one such message from a gold or platinum customer; or two such messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from supportbot.crm.profile import HIGH_VALUE_TIERS
from supportbot.escalation import NEGATIVE, Turn

VERY_INTENSE = -0.7
NEGATIVE_MESSAGES_TO_ESCALATE = 2


def rule_escalates(turns: Sequence[Turn], tier: str | None = None) -> bool:
    """The old rule's decision after the newest message (which had to be negative)."""
    latest = turns[-1]
    if latest.score > NEGATIVE:
        return False
    if latest.intensity <= VERY_INTENSE or tier in HIGH_VALUE_TIERS:
        return True
    return sum(turn.score <= NEGATIVE for turn in turns) >= NEGATIVE_MESSAGES_TO_ESCALATE
