"""The built-in head and VADER on support messages, with the real models."""

from __future__ import annotations

from typing import Any

import pytest

from supportbot.sentiment import Sentiment, SentimentModel, VaderSentiment
from supportbot.sentiment.base import LABELS

ANGRY = [
    "This is the third time my parcel is late, I'm furious!",
    "Your refund process is a joke, I've waited six weeks and nobody answers. Unacceptable.",
    "the replacement arrived broken AGAIN. worst shop ever",
]
THANKS = [
    "Thank you so much, you sorted my refund in minutes. Brilliant service!",
    "thanks a lot, that was really helpful :)",
]
NEUTRAL = ["where is my order 100234?", "Can I get a copy of invoice INV-500002?"]
MIXED = ANGRY + THANKS + NEUTRAL + ["", "ok", "my email is ada@example.com"]


@pytest.fixture(scope="module")
def vader() -> VaderSentiment:
    return VaderSentiment()


def valid(result: Sentiment) -> bool:
    return (
        result.label in LABELS and -1.0 <= result.score <= 1.0 and 0.0 <= result.confidence <= 1.0
    )


@pytest.mark.parametrize("text", ANGRY)
def test_head_angry_support_text_is_clearly_negative(head: Any, text: str) -> None:
    (result,) = head.analyse([text])
    assert result.label == "negative"
    assert result.score < -0.3


@pytest.mark.parametrize("text", THANKS)
def test_head_warm_thanks_is_positive(head: Any, text: str) -> None:
    (result,) = head.analyse([text])
    assert result.label == "positive"
    assert result.score > 0.3


@pytest.mark.parametrize("text", NEUTRAL)
def test_head_order_question_is_neutral(head: Any, text: str) -> None:
    (result,) = head.analyse([text])
    assert result.label == "neutral"


def test_head_probabilities_and_score_are_consistent(head: Any) -> None:
    probabilities = head.probabilities(MIXED[:-3])
    for row, result in zip(probabilities, head.analyse(MIXED[:-3]), strict=True):
        assert row.sum() == pytest.approx(1.0)
        assert result.score == pytest.approx(row[2] - row[0])
        assert result.confidence == pytest.approx(row.max())
        assert result.label == LABELS[int(row.argmax())]


@pytest.mark.parametrize("model_name", ["head", "vader"])
def test_batch_equals_one_by_one(model_name: str, request: pytest.FixtureRequest) -> None:
    model: SentimentModel = request.getfixturevalue(model_name)
    batch = model.analyse(MIXED)
    single = [model.analyse([text])[0] for text in MIXED]
    assert len(batch) == len(MIXED)
    for together, alone in zip(batch, single, strict=True):
        assert valid(together)
        # Padding in a batch changes float sums in the last digits, nothing more.
        assert together.label == alone.label
        assert together.score == pytest.approx(alone.score, abs=1e-4)
        assert together.confidence == pytest.approx(alone.confidence, abs=1e-4)


@pytest.mark.parametrize("model_name", ["head", "vader"])
@pytest.mark.parametrize("text", ["", " ", "\n\t  "])
def test_empty_text_is_neutral(model_name: str, text: str, request: pytest.FixtureRequest) -> None:
    model: SentimentModel = request.getfixturevalue(model_name)
    (result,) = model.analyse([text])
    assert result.label == "neutral"
    assert result.score == 0.0


@pytest.mark.parametrize("model_name", ["head", "vader"])
def test_no_texts_no_results(model_name: str, request: pytest.FixtureRequest) -> None:
    model: SentimentModel = request.getfixturevalue(model_name)
    assert model.analyse([]) == []


def test_vader_follows_its_compound_thresholds(vader: VaderSentiment) -> None:
    angry, thanks, question = vader.analyse(
        ["I hate this, the parcel is late and broken", "Thank you, great help!", "order 100234"]
    )
    assert angry.label == "negative" and angry.score <= -0.05
    assert thanks.label == "positive" and thanks.score >= 0.05
    assert question.label == "neutral" and question.score == 0.0
    assert vader.name == "vader"
