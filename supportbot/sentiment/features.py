"""The features of the built-in head, shared by training and run time so they cannot drift."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

VADER_FEATURES = ("neg", "neu", "pos", "compound")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")


def normalise(text: str) -> str:
    """TweetEval's preprocessing: user names and links carry no sentiment, only noise."""
    return _URL.sub("http", _MENTION.sub("@user", text)).strip()


def vader_analyser() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_features(analyser: Any, texts: Sequence[str]) -> np.ndarray:
    """VADER's four scores per text, (n, 4) float64."""
    rows = []
    for text in texts:
        scores = analyser.polarity_scores(text)
        rows.append([scores[name] for name in VADER_FEATURES])
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(VADER_FEATURES))


def sentence_vectors(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """MiniLM sentence vectors, (n, 384) float64: one encoder call for the whole batch."""
    if not texts:
        return np.zeros((0, int(encoder.dimension)), dtype=np.float64)
    encodings = encoder.encode(list(texts))
    return np.stack([e.sentence_vector for e in encodings]).astype(np.float64)


def featurise(
    encoder: Any, analyser: Any | None, texts: Sequence[str], *, use_vader: bool
) -> np.ndarray:
    """The head's input for already normalised texts: sentence vector [+ VADER scores]."""
    vectors = sentence_vectors(encoder, texts)
    if not use_vader:
        return vectors
    if analyser is None:
        raise ValueError("VADER features need a VADER analyser")
    return np.hstack([vectors, vader_features(analyser, texts)])
