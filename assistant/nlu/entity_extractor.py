"""DIET for entities only, trained for a number of gradient steps rather than of epochs.

With MiniLM's contextual token vectors as input, DIET needs no transformer of its own, and one
tag per entity type (no BILOU) keeps its CRF small: an epoch on HWU64 then costs 5.8 s instead of
63 s. Such a DIET learns from steps, though, and a fixed epoch count gives a tiny training set
very few: 40 epochs of Braun's 30-100 utterances are 40-80 steps, against 1,600-2,500 on Bitext
or HWU64. `min_steps` raises the epochs until a small set gets about as many updates as a large
one; on a large set it changes nothing.

    pipeline:
      - name: assistant.nlu.entity_extractor.DIETEntityExtractor
        featurizers: [regex, lexical, words, minilm]
        number_of_transformer_layers: 0
        BILOU_flag: false
        epochs: 40
        min_steps: 1000
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import (
    BATCH_SIZES,
    CONSTRAIN_SIMILARITIES,
    EPOCHS,
    INTENT_CLASSIFICATION,
)

logger = logging.getLogger(__name__)

MIN_STEPS = "min_steps"

# Rasa's recipe validator looks for DIETClassifier by exact class, not subclass, so with this
# extractor it warns on every training that entity examples have no trainable extractor and that
# nothing uses the lookup tables' features. Both are false: this is a DIETClassifier, and it reads
# the RegexFeaturizer's lookup-table features. Only these two messages are silenced.
for _message in (
    r"You have defined training data consisting of entity examples, but your NLU configuration "
    r"does not include an entity extractor trained on your training data",
    r"You have defined training data consisting of lookup tables, but your NLU configuration "
    r"does not include any components that uses the features created from the lookup table",
):
    warnings.filterwarnings("ignore", message=_message, category=UserWarning)


def steps(examples: int, epochs: int, batch_sizes: int | list[int]) -> int:
    """Gradient steps of a DIET training: its batch size grows linearly from the first to the
    second of `batch_sizes` over the epochs (rasa.utils.tensorflow.data_generator)."""
    if examples <= 0 or epochs <= 0:
        return 0
    if isinstance(batch_sizes, int):
        return epochs * math.ceil(examples / batch_sizes)
    first, last = batch_sizes[0], batch_sizes[-1]
    total = 0
    for epoch in range(epochs):
        size = int(first + epoch * (last - first) / (epochs - 1)) if epochs > 1 else first
        total += math.ceil(examples / size)
    return total


def epochs_for(examples: int, epochs: int, batch_sizes: int | list[int], min_steps: int) -> int:
    """The configured epochs, or more: the fewest that make at least `min_steps` steps."""
    if examples <= 0:
        return epochs
    # One step per epoch at worst (the whole set in one batch): never more than min_steps epochs.
    while epochs < min_steps and steps(examples, epochs, batch_sizes) < min_steps:
        epochs += 1
    return epochs


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class DIETEntityExtractor(DIETClassifier):
    """DIETClassifier for entities only, with at least `min_steps` gradient steps."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DIETClassifier.get_default_config(),
            INTENT_CLASSIFICATION: False,
            # Rasa warns without it (cross-entropy loss); it does not touch the entity CRF.
            CONSTRAIN_SIMILARITIES: True,
            # About what 40 epochs give a set of several thousand utterances.
            MIN_STEPS: 1000,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get(INTENT_CLASSIFICATION):
            raise ValueError(
                "DIETEntityExtractor extracts entities only: leave `intent_classification` "
                "off and put an intent classifier in the pipeline"
            )
        if int(config.get(MIN_STEPS, 0)) < 0:
            raise ValueError("DIETEntityExtractor: `min_steps` must not be negative")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DIETEntityExtractor:
        cls.validate_config(config)
        return cls(config, model_storage, resource, execution_context)

    def train(self, training_data: TrainingData) -> Resource:
        configured = int(self.component_config[EPOCHS])
        epochs = epochs_for(
            len(training_data.nlu_examples),
            configured,
            self.component_config[BATCH_SIZES],
            int(self.component_config[MIN_STEPS]),
        )
        if epochs != configured:
            logger.info(
                "DIETEntityExtractor: %d epochs instead of %d, for at least %d steps on %d "
                "examples",
                epochs, configured, self.component_config[MIN_STEPS],
                len(training_data.nlu_examples),
            )  # fmt: skip
            self.component_config[EPOCHS] = epochs
        return super().train(training_data)
