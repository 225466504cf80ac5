"""A Rasa 3.6 intent classifier: multinomial logistic regression on whole-message features.

On the public benchmarks (reports/nlu.md) a linear model over the MiniLM sentence vector plus
tf-idf weighted word and character n-gram counts beats DIET on the same features, and trains in
about a minute instead of most of an hour. DIET stays in the pipeline for entities only.

Each featurizer's sentence features form one block, so that no block drowns another:
- sparse counts (CountVectorsFeaturizer) become sublinear tf-idf, scaled to unit length;
- dense vectors (MiniLM) are scaled to unit length.

    pipeline:
      - name: CountVectorsFeaturizer
        alias: words
      - name: assistant.nlu.minilm_featurizer.MiniLMFeaturizer
        alias: minilm
      - name: assistant.nlu.sentence_classifier.SentenceIntentClassifier
        featurizers: [words, minilm]

The model persists as JSON plus a NumPy archive read with `allow_pickle=False` (no pickle, per
CVE-2024-49375); scikit-learn is needed to train, not to predict.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"

Block = Any  # one featurizer's sentence features: a NumPy array or a SciPy sparse matrix


@dataclass
class _Model:
    intents: list[str]
    origins: list[str]  # featurizers, in the order their blocks are stacked
    dims: dict[str, int]
    idf: dict[str, np.ndarray]  # the sparse (count) blocks, and only those
    coef: np.ndarray  # (intents, features)
    intercept: np.ndarray  # (intents,)

    def features(self, rows: list[dict[str, Block]]) -> scipy.sparse.csr_matrix:
        """The stacked, weighted feature matrix of messages' per-featurizer blocks."""
        blocks = []
        for origin in self.origins:
            dim = self.dims[origin]
            if origin in self.idf:
                part = scipy.sparse.vstack(
                    [_sparse_row(row.get(origin), dim) for row in rows], format="csr"
                ).astype(np.float64)
                # Sublinear tf (1 + ln count) times idf, as scikit-learn's TfidfVectorizer does.
                np.log(part.data, out=part.data)
                part.data += 1.0
                part = part @ scipy.sparse.diags(self.idf[origin])
            else:
                part = scipy.sparse.csr_matrix(
                    np.vstack([_dense_row(row.get(origin), dim) for row in rows])
                )
            blocks.append(_unit_rows(part))
        return scipy.sparse.hstack(blocks, format="csr")

    def probabilities(self, rows: list[dict[str, Block]]) -> np.ndarray:
        logits = self.features(rows) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def _sparse_row(block: Block | None, dim: int) -> scipy.sparse.csr_matrix:
    if block is None:
        return scipy.sparse.csr_matrix((1, dim))
    row = scipy.sparse.csr_matrix(block)
    if row.shape != (1, dim):
        raise ValueError(f"sparse sentence features of shape {row.shape}, expected (1, {dim})")
    return row


def _dense_row(block: Block | None, dim: int) -> np.ndarray:
    if block is None:
        return np.zeros((1, dim))
    row = np.asarray(block.todense() if scipy.sparse.issparse(block) else block).reshape(1, -1)
    if row.shape[1] != dim:
        raise ValueError(f"dense sentence features of width {row.shape[1]}, expected {dim}")
    return row


class UnsafeModelFile(RuntimeError):
    """A weights file that would need pickle to load."""


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except ValueError as error:  # object arrays: refused rather than unpickled
        raise UnsafeModelFile(f"{path.name}: {error}; only plain numeric arrays load") from error


def _unit_rows(matrix: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return scipy.sparse.csr_matrix(scipy.sparse.diags(1.0 / norms) @ matrix)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over the sentence features of the chosen featurizers."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "scipy"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Featurizer names (their `alias`) whose sentence features to use; empty: all of them.
            "featurizers": [],
            # Inverse L2 strength; 10 was best of 3/10/30 on BANKING77, HWU64 and CLINC150.
            "C": 10.0,
            "max_iter": 1000,
            # Intents in the ranking (0: all).
            "ranking_length": 10,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config["C"]) <= 0:
            raise ValueError("SentenceIntentClassifier: `C` must be positive")
        if int(config["max_iter"]) < 1 or int(config["ranking_length"]) < 0:
            raise ValueError(
                "SentenceIntentClassifier: `max_iter` must be at least 1, `ranking_length` >= 0"
            )

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: _Model | None = None,
    ) -> None:
        self.validate_config(config)
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        return cls(config, model_storage, resource)

    def _blocks(self, message: Message) -> dict[str, Block]:
        """This message's sentence features, one block per featurizer."""
        wanted = set(self.component_config["featurizers"] or [])
        blocks: dict[str, Block] = {}
        for feature in message.features:
            if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE:
                continue
            origin = str(feature.origin)
            if wanted and origin not in wanted:
                continue
            if origin in blocks:
                raise ValueError(f"featurizer {origin!r} gave two sentence features; alias one")
            blocks[origin] = feature.features
        return blocks

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        intents = sorted({m.get(INTENT) for m in examples})
        if len(intents) < 2:
            logger.warning("SentenceIntentClassifier: needs two intents or more; not trained")
            return self._resource
        rows = [self._blocks(m) for m in examples]
        origins = sorted({origin for row in rows for origin in row})
        if not origins:
            raise ValueError(
                "SentenceIntentClassifier: no sentence features from "
                f"{self.component_config['featurizers'] or 'any featurizer'}; "
                "check the `featurizers` names against the featurizers' `alias`"
            )
        dims = {o: next(r[o].shape[-1] for r in rows if o in r) for o in origins}
        idf = {}
        for origin in origins:
            if not any(scipy.sparse.issparse(row[origin]) for row in rows if origin in row):
                continue
            counts = scipy.sparse.vstack(
                [_sparse_row(row.get(origin), dims[origin]) for row in rows], format="csr"
            )
            document_frequency = np.bincount(counts.indices, minlength=dims[origin])
            idf[origin] = np.log((1 + len(rows)) / (1 + document_frequency)) + 1.0
        model = _Model(intents, origins, dims, idf, np.empty(0), np.empty(0))
        features = model.features(rows)
        index = {intent: i for i, intent in enumerate(intents)}
        labels = np.array([index[m.get(INTENT)] for m in examples])
        logger.info(
            "SentenceIntentClassifier: logistic regression on %d examples x %d features "
            "(%s), %d intents...",
            features.shape[0], features.shape[1], ", ".join(origins), len(intents),
        )  # fmt: skip
        started = time.monotonic()
        regression = LogisticRegression(
            C=float(self.component_config["C"]), max_iter=int(self.component_config["max_iter"])
        ).fit(features, labels)
        logger.info("SentenceIntentClassifier: trained in %.1f s", time.monotonic() - started)
        coef, intercept = regression.coef_, regression.intercept_
        if len(intents) == 2:
            # Two classes give one row, P(second) = sigmoid(w.x + b): a softmax over (0, w.x + b).
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        model.coef = coef.astype(np.float32)
        model.intercept = intercept.astype(np.float32)
        self._model = model
        self._persist(model)
        return self._resource

    def _persist(self, model: _Model) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            description = {
                "intents": model.intents,
                "origins": model.origins,
                "dims": model.dims,
            }
            (directory / MODEL_FILE).write_text(json.dumps(description), encoding="utf-8")
            arrays: dict[str, Any] = {"coef": model.coef, "intercept": model.intercept}
            arrays.update({f"idf:{origin}": values for origin, values in model.idf.items()})
            np.savez(directory / WEIGHTS_FILE, **arrays)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                description = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
                weights = _read_weights(directory / WEIGHTS_FILE)
        except (ValueError, FileNotFoundError):
            # Rasa's convention: a component that was never trained loads empty.
            logger.warning("SentenceIntentClassifier: no trained model found; it will not classify")
            return cls(config, model_storage, resource)
        model = _Model(
            intents=description["intents"],
            origins=description["origins"],
            dims=description["dims"],
            idf={o: weights[f"idf:{o}"] for o in description["origins"] if f"idf:{o}" in weights},
            coef=weights["coef"],
            intercept=weights["intercept"],
        )
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        model = self._model
        if model is None:
            return messages
        blocks = {id(m): self._blocks(m) for m in messages if m.get(TEXT)}
        with_features = [m for m in messages if blocks.get(id(m))]
        if not with_features:
            return messages
        probabilities = model.probabilities([blocks[id(m)] for m in with_features])
        length = int(self.component_config["ranking_length"]) or len(model.intents)
        for message, row in zip(with_features, probabilities, strict=True):
            order = np.argsort(-row)[:length]
            ranking = [
                {INTENT_NAME_KEY: model.intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])}
                for i in order
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
