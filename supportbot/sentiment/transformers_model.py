"""A Hugging Face sequence-classification model named by SENTIMENT_MODEL, instead of the head."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from supportbot.sentiment.base import (
    EMPTY,
    LABELS,
    Label,
    Sentiment,
    SentimentModelError,
    from_probabilities,
    is_blank,
)

_GENERIC = re.compile(r"label_(\d+)")
_KEYS: tuple[tuple[str, Label], ...] = (
    ("neg", "negative"),
    ("neu", "neutral"),
    ("pos", "positive"),
)


def map_labels(id2label: Mapping[int, str], model: str = "the model") -> dict[str, Label]:
    """Map a model's label names to the three classes.

    Names containing neg / neu / pos (any case) map by name; a 3-label model with the generic
    names LABEL_0, LABEL_1, LABEL_2 is taken to be negative, neutral, positive in that order.

    Raises:
        SentimentModelError: if a label maps to no class or two, two labels to one class, or
            negative or positive is missing.
    """
    names = [id2label[i] for i in sorted(id2label)]
    mapping: dict[str, Label] = {}
    for name in names:
        matches = [label for key, label in _KEYS if key in name.lower()]
        if len(matches) == 1:
            mapping[name] = matches[0]
    generic = [_GENERIC.fullmatch(name.lower()) for name in names]
    if len(mapping) < len(names) and len(names) == 3 and all(generic):
        order = [int(match.group(1)) for match in generic if match]
        if sorted(order) == [0, 1, 2]:
            mapping = {name: LABELS[index] for name, index in zip(names, order, strict=True)}
    classes = list(mapping.values())
    if (
        len(mapping) != len(names)
        or len(set(classes)) != len(classes)
        or not {"negative", "positive"} <= set(classes)
    ):
        raise SentimentModelError(
            f"cannot map the labels {names} of sentiment model {model} to negative / neutral / "
            "positive: use a model whose label names contain neg, neu and pos (or a 3-label "
            "model with LABEL_0, LABEL_1, LABEL_2 meaning negative, neutral, positive), or unset "
            "SENTIMENT_MODEL to use the built-in head"
        )
    return mapping


class TransformersSentiment:
    """`transformers.pipeline("text-classification")` with every label's score, mapped to ours."""

    def __init__(self, model: str, *, batch_size: int = 16) -> None:
        # The machine is offline by design; a model id must already be in the local cache.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import pipeline

        self.name = f"transformers:{model}"
        self._batch_size = batch_size
        try:
            self._pipeline: Any = pipeline(
                "text-classification", model=model, tokenizer=model, top_k=None, device="cpu"
            )
        except (OSError, ValueError) as error:
            raise SentimentModelError(
                f"cannot load the sentiment model {model!r} named by SENTIMENT_MODEL "
                f"(a local directory or a Hugging Face model id in the local cache): {error}"
            ) from error
        config_labels = self._pipeline.model.config.id2label or {}
        id2label = {int(i): str(n) for i, n in config_labels.items()}
        self._mapping = map_labels(id2label, repr(model))

    def analyse(self, texts: Sequence[str]) -> list[Sentiment]:
        results: list[Sentiment] = [EMPTY] * len(texts)
        indices = [i for i, text in enumerate(texts) if not is_blank(text)]
        if not indices:
            return results
        outputs = self._pipeline(
            [texts[i] for i in indices], batch_size=self._batch_size, truncation=True
        )
        for index, scores in zip(indices, outputs, strict=True):
            probabilities = dict.fromkeys(LABELS, 0.0)
            for item in scores:
                probabilities[self._mapping[item["label"]]] += float(item["score"])
            results[index] = from_probabilities(
                probabilities["negative"], probabilities["neutral"], probabilities["positive"]
            )
        return results
