"""VADER, the lexicon-and-rules baseline the project's model is measured against."""

from __future__ import annotations

from collections.abc import Sequence

from supportbot.sentiment.base import EMPTY, Label, Sentiment, is_blank
from supportbot.sentiment.features import vader_analyser

# The thresholds VADER's authors recommend for its compound score.
POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


class VaderSentiment:
    """VADER's compound score: >= 0.05 positive, <= -0.05 negative, else neutral.

    VADER gives no class probabilities: `confidence` is its share of the matching kind of words
    (`pos`, `neu` or `neg`), the closest thing it has.
    """

    name = "vader"

    def __init__(self) -> None:
        self._analyser = vader_analyser()

    def analyse(self, texts: Sequence[str]) -> list[Sentiment]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> Sentiment:
        if is_blank(text):
            return EMPTY
        scores = self._analyser.polarity_scores(text)
        compound = float(scores["compound"])
        label: Label
        if compound >= POSITIVE_AT:
            label, share = "positive", scores["pos"]
        elif compound <= NEGATIVE_AT:
            label, share = "negative", scores["neg"]
        else:
            label, share = "neutral", scores["neu"]
        return Sentiment(label=label, score=compound, confidence=float(share))
