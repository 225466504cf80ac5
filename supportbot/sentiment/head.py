"""The built-in sentiment model: a logistic-regression head on the project's MiniLM encoder.

`make setup` trains it (`python -m lab.sentiment.train`) into `var/sentiment/head.json`
(SUPPORTBOT_SENTIMENT_DIR): plain JSON, never pickle, so loading it cannot run code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from supportbot.sentiment.base import (
    EMPTY,
    LABELS,
    Sentiment,
    SentimentModelMissing,
    from_probabilities,
    is_blank,
)
from supportbot.sentiment.features import VADER_FEATURES, featurise, normalise, vader_analyser

HEAD_FILE = "head.json"
FORMAT = "supportbot-sentiment-head/1"
ENCODER_FILES = ("encoder.json", "tokenizer.json", "model.onnx", "model.onnx.data")


def encoder_fingerprint(encoder_dir: Path) -> str:
    """SHA-256 over the exported encoder's files: a head only fits the encoder it was trained on."""
    digest = hashlib.sha256()
    for name in ENCODER_FILES:
        path = encoder_dir / name
        if not path.exists():
            continue
        digest.update(name.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class HeadParameters:
    """Everything head.json holds: the linear model plus where it came from."""

    weights: np.ndarray  # (3, features), rows in LABELS order
    bias: np.ndarray  # (3,)
    use_vader: bool
    encoder_fingerprint: str
    training_data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        features = ["minilm sentence vector (mean pooled, unit length)"] * (
            self.weights.shape[1] - (len(VADER_FEATURES) if self.use_vader else 0)
        )
        return {
            "format": FORMAT,
            "classes": list(LABELS),
            "features": {
                "text": "mentions -> @user, links -> http (sentiment.features.normalise)",
                "encoder_dimension": len(features),
                "vader": list(VADER_FEATURES) if self.use_vader else [],
                "count": int(self.weights.shape[1]),
            },
            # float() keeps the full float64 value, so a loaded head predicts exactly the same.
            "weights": [[float(w) for w in row] for row in self.weights],
            "bias": [float(b) for b in self.bias],
            "encoder": {"sha256": self.encoder_fingerprint},
            "training_data": self.training_data,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: Path) -> HeadParameters:
        if data.get("format") != FORMAT or data.get("classes") != list(LABELS):
            raise SentimentModelMissing(
                f"{source} is not a sentiment head this version can read: run `make setup`"
            )
        weights = np.asarray(data["weights"], dtype=np.float64)
        bias = np.asarray(data["bias"], dtype=np.float64)
        features = data["features"]
        use_vader = bool(features["vader"])
        if weights.shape != (len(LABELS), int(features["count"])) or bias.shape != (len(LABELS),):
            raise SentimentModelMissing(f"{source} is damaged (weight shapes): run `make setup`")
        if not np.all(np.isfinite(weights)) or not np.all(np.isfinite(bias)):
            raise SentimentModelMissing(
                f"{source} is damaged (non-finite weights): run `make setup`"
            )
        return cls(
            weights=weights,
            bias=bias,
            use_vader=use_vader,
            encoder_fingerprint=str(data["encoder"]["sha256"]),
            training_data=dict(data.get("training_data", {})),
            training=dict(data.get("training", {})),
        )


def save_head(parameters: HeadParameters, directory: Path) -> Path:
    """Write head.json atomically (a half-written file must never be loaded)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HEAD_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(parameters.to_json(), indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path


def read_head(directory: Path) -> HeadParameters:
    """Read head.json from `directory`.

    Raises:
        SentimentModelMissing: if it is missing or unreadable, with what to run.
    """
    path = directory / HEAD_FILE
    if not path.is_file():
        raise SentimentModelMissing(
            f"the sentiment head {path} has not been built: run `make setup` "
            f"(it runs `python -m lab.sentiment.train --out {directory}`)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return HeadParameters.from_json(data, path)
    except (ValueError, KeyError, TypeError) as error:
        raise SentimentModelMissing(f"{path} is unreadable ({error}): run `make setup`") from None


class HeadSentiment:
    """The built-in model: MiniLM sentence vector [+ VADER scores] -> softmax over 3 classes."""

    name = "minilm-head"

    def __init__(self, parameters: HeadParameters, encoder: Any) -> None:
        self.parameters = parameters
        self._encoder = encoder
        self._vader = vader_analyser() if parameters.use_vader else None
        expected = parameters.weights.shape[1] - (
            len(VADER_FEATURES) if parameters.use_vader else 0
        )
        if int(encoder.dimension) != expected:
            raise SentimentModelMissing(
                f"the sentiment head expects {expected}-d vectors but the encoder gives "
                f"{encoder.dimension}: run `make setup`"
            )

    @classmethod
    def load(cls, directory: Path, encoder: Any, encoder_dir: Path | None = None) -> HeadSentiment:
        """Load head.json; with `encoder_dir`, also check the head was trained on that encoder.

        Raises:
            SentimentModelMissing: if the head is missing, unreadable or for another encoder.
        """
        parameters = read_head(directory)
        if encoder_dir is not None and parameters.encoder_fingerprint != encoder_fingerprint(
            encoder_dir
        ):
            raise SentimentModelMissing(
                f"the sentiment head in {directory} was trained on another encoder than the one "
                f"in {encoder_dir}: run `make setup` to retrain it"
            )
        return cls(parameters, encoder)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) class probabilities of non-blank texts, in LABELS order."""
        normalised = [normalise(text) for text in texts]
        features = featurise(
            self._encoder, self._vader, normalised, use_vader=self.parameters.use_vader
        )
        logits = features @ self.parameters.weights.T + self.parameters.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def analyse(self, texts: Sequence[str]) -> list[Sentiment]:
        results: list[Sentiment] = [EMPTY] * len(texts)
        indices = [i for i, text in enumerate(texts) if not is_blank(text)]
        if indices:
            probabilities = self.probabilities([texts[i] for i in indices])
            for index, row in zip(indices, probabilities, strict=True):
                results[index] = from_probabilities(*(float(p) for p in row))
        return results
