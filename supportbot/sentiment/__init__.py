"""Sentiment of customer messages: negative / neutral / positive and a score in [-1, 1].

The default model is a logistic-regression head on the project's MiniLM encoder, trained at
setup from `data/sentiment/` (`python -m lab.sentiment.train`); SENTIMENT_MODEL swaps in a
Hugging Face model; `VaderSentiment` is the baseline (`supportbot-lab bench-sentiment` compares
them).
"""

from supportbot.sentiment.base import (
    Label,
    Sentiment,
    SentimentModel,
    SentimentModelError,
    SentimentModelMissing,
)
from supportbot.sentiment.loader import get_sentiment_model, load_sentiment_model
from supportbot.sentiment.vader import VaderSentiment

__all__ = [
    "Label",
    "Sentiment",
    "SentimentModel",
    "SentimentModelError",
    "SentimentModelMissing",
    "VaderSentiment",
    "get_sentiment_model",
    "load_sentiment_model",
]
