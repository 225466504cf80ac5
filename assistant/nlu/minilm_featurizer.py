"""A Rasa 3.6 featurizer that gives DIET dense MiniLM features: one vector per token, one per
sentence. Runs in Rasa's environment on ONNX Runtime (`common.encoder`), without torch.

The exported encoder is copied into the trained model (ONNX and JSON files only: no pickle), so
a model archive runs without the project's `var/` folder.

    pipeline:
      - name: WhitespaceTokenizer
      - name: assistant.nlu.minilm_featurizer.MiniLMFeaturizer
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.environment import encoder_dir
from common.encoder import FILES, Encoding, SentenceEncoder, token_vectors

# Customer messages whose encodings are kept, by keyed digest (about 16 KB each at 384
# dimensions for a 10-token message).
RECENT_MESSAGES = 512


logger = logging.getLogger(__name__)


def configured_encoder_dir(config: dict[str, Any]) -> Path:
    """The exported encoder: the `encoder_dir` option, $SUPPORTBOT_ENCODER_DIR, or var/encoder."""
    configured = config.get("encoder_dir")
    return Path(configured) if configured else encoder_dir()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense token and sentence features from the offline all-MiniLM-L6-v2 encoder."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "encoder_dir": None, "threads": 1}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads", 1)) < 1:
            raise ValueError("MiniLMFeaturizer: `threads` must be at least 1")

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
        encoder: SentenceEncoder,
        encoder_dir: Path,
    ) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._encoder = encoder
        self._encoder_dir = encoder_dir
        # Training texts repeat across training runs of one process.
        self._cache: dict[str, Encoding] = {}
        # Customers' messages repeat too ("hi", "yes", a button's text), but their text is never
        # kept (an erased conversation must not live on in memory): the most recent encodings,
        # by a digest keyed with a random key of this process (an unkeyed one of a short message
        # could be guessed), a bounded number, so an erased message's encoding soon rolls out.
        self._recent: OrderedDict[bytes, Encoding] = OrderedDict()
        self._digest_key = os.urandom(32)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        directory = configured_encoder_dir(config)
        encoder = SentenceEncoder(directory, threads=int(config["threads"]))
        return cls(config, execution_context.node_name, model_storage, resource, encoder, directory)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MiniLMFeaturizer:
        # ONNX Runtime and the tokenizer read their files completely while the folder exists.
        with model_storage.read_from(resource) as directory:
            encoder = SentenceEncoder(directory, threads=int(config["threads"]))
        return cls(config, execution_context.node_name, model_storage, resource, encoder, directory)

    def train(self, training_data: TrainingData) -> Resource:
        """Nothing to learn: store the encoder's files with the model."""
        with self._model_storage.write_to(self._resource) as directory:
            for name in (*FILES, "model.onnx.data"):
                if (self._encoder_dir / name).exists():
                    shutil.copy(self._encoder_dir / name, directory / name)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, keep=True)
        return training_data

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), key=self._digest_key).digest()

    def _remember(self, encodings: dict[str, Encoding]) -> None:
        for text, encoding in encodings.items():
            self._recent[self._digest(text)] = encoding
        while len(self._recent) > RECENT_MESSAGES:
            self._recent.popitem(last=False)

    def process(self, messages: list[Message]) -> list[Message]:
        return self._featurize(messages, keep=False)

    def _featurize(self, messages: list[Message], *, keep: bool) -> list[Message]:
        """Add the features; `keep` the encodings of new texts for later (training data only)."""
        with_text = [m for m in messages if m.get(TEXT) and m.get(TOKENS_NAMES[TEXT])]
        encodings: dict[str, Encoding] = {}
        for text in {m.get(TEXT) for m in with_text} - self._cache.keys():
            recent = None if keep else self._recent.get(self._digest(text))
            if recent is not None:
                encodings[text] = recent
        new_texts = sorted({m.get(TEXT) for m in with_text} - self._cache.keys() - encodings.keys())
        if new_texts:
            if len(new_texts) > 100:
                logger.info("Encoding %d texts with MiniLM...", len(new_texts))
            fresh = dict(zip(new_texts, self._encoder.encode(new_texts), strict=True))
            encodings.update(fresh)
            if keep:
                self._cache.update(fresh)
            else:
                self._remember(fresh)
        for message in with_text:
            text = message.get(TEXT)
            encoding = encodings[text] if text in encodings else self._cache[text]
            tokens = message.get(TOKENS_NAMES[TEXT])
            sequence = token_vectors(encoding, [(t.start, t.end) for t in tokens])
            sentence = np.expand_dims(encoding.sentence_vector, 0)
            self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages
