"""What every sentiment model returns, and the errors of loading one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of one message."""

    label: Label
    score: float  # P(positive) - P(negative), in [-1, 1]
    confidence: float  # probability of `label`


# No words, no evidence either way.
EMPTY = Sentiment(label="neutral", score=0.0, confidence=1.0)


class SentimentModel(Protocol):
    """A classifier of messages into negative / neutral / positive."""

    name: str

    def analyse(self, texts: Sequence[str]) -> list[Sentiment]: ...


class SentimentModelMissing(FileNotFoundError):
    """The built-in sentiment head has not been built (or not for this encoder)."""


class SentimentModelError(ValueError):
    """A configured sentiment model cannot be used (e.g. its labels cannot be mapped)."""


def is_blank(text: str) -> bool:
    return not text or text.isspace()


def from_probabilities(negative: float, neutral: float, positive: float) -> Sentiment:
    """The most probable label, its probability, and P(positive) - P(negative)."""
    probabilities = (negative, neutral, positive)
    best = max(range(3), key=probabilities.__getitem__)
    score = min(1.0, max(-1.0, positive - negative))
    return Sentiment(label=LABELS[best], score=score, confidence=float(probabilities[best]))
