"""DIETEntityExtractor inside Rasa, on real tokens, word counts and MiniLM token vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import EPOCHS

from assistant.nlu.entity_extractor import DIETEntityExtractor, epochs_for, steps
from assistant.nlu.minilm_featurizer import configured_encoder_dir
from tests.assistant.features import Features, context

needs_encoder = pytest.mark.skipif(
    not (configured_encoder_dir({}) / "model.onnx").exists(),
    reason="no exported encoder (make setup exports it)",
)

TRAINING = """
version: "3.1"
nlu:
  - intent: delivery
    examples: |
      - please ship my order to [paris](city)
      - deliver it to [london](city) tomorrow
      - send the parcel to [new york](city)
      - can you ship to [san francisco](city)
      - I moved to [new york](city), change the address
      - my new address is in [london](city)
      - deliver the [blue jacket](product) to [paris](city)
      - the [red scarf](product) should go to [san francisco](city)
      - where is my [blue jacket](product)
      - I never got the [red scarf](product)
      - is the [wool hat](product) in stock
      - return the [wool hat](product) please
      - I want to return the [red scarf](product)
      - ship my [wool hat](product) to [london](city)
      - I live in [paris](city) now
      - the [blue jacket](product) is too small
"""


def config(**overrides: Any) -> dict[str, Any]:
    return {
        **DIETEntityExtractor.get_default_config(),
        "number_of_transformer_layers": 0,
        "BILOU_flag": False,
        "epochs": 40,
        "min_steps": 150,
        "random_seed": 1,
        **overrides,
    }


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


def found(message: Message) -> list[tuple[str, str]]:
    return [(e["entity"], e["value"]) for e in message.get(ENTITIES, [])]


def test_steps_follow_diets_growing_batch_size() -> None:
    assert steps(100, 1, [64, 256]) == 2  # one epoch at batch size 64
    assert steps(100, 2, [64, 256]) == 2 + 1  # then 256
    assert steps(1000, 3, 100) == 30
    assert steps(0, 40, [64, 256]) == 0


def test_a_large_set_keeps_its_epochs_and_a_small_one_gets_more() -> None:
    assert epochs_for(10_000, 40, [64, 256], 1000) == 40  # 40 epochs are ~2,500 steps there
    raised = epochs_for(100, 40, [64, 256], 1000)
    assert steps(100, raised, [64, 256]) >= 1000 > steps(100, raised - 1, [64, 256])
    # A set that fits in one batch takes one step an epoch: exactly min_steps epochs.
    assert epochs_for(30, 40, [64, 256], 1000) == 1000
    assert epochs_for(30, 40, [64, 256], 0) == 40


def test_intent_classification_is_refused(storage: LocalModelStorage) -> None:
    with pytest.raises(ValueError, match="entities only"):
        DIETEntityExtractor.create(
            config(intent_classification=True), storage, Resource("e"), context("e")
        )
    with pytest.raises(ValueError, match="min_steps"):
        DIETEntityExtractor.create(config(min_steps=-1), storage, Resource("e"), context("e"))


@needs_encoder
def test_entities_in_new_sentences_whole_and_after_a_reload(storage: LocalModelStorage) -> None:
    features = Features(storage)
    extractor = DIETEntityExtractor.create(config(), storage, Resource("entities"), context("e"))
    extractor.train(features.fit(RasaYAMLReader().reads(TRAINING)))
    # 16 examples fit in one batch: one step per epoch, so 150 epochs for min_steps 150.
    assert extractor.component_config[EPOCHS] == 150

    texts = ("please send the wool hat to new york", "I am in san francisco this week")
    predicted = [found(m) for m in extractor.process(features.messages(*texts))]
    # Two-word names stay one entity: one tag per type (no BILOU) cannot split them.
    assert predicted == [
        [("product", "wool hat"), ("city", "new york")],
        [("city", "san francisco")],
    ]

    loaded = DIETEntityExtractor.load(config(), storage, Resource("entities"), context("e"))
    assert [found(m) for m in loaded.process(features.messages(*texts))] == predicted
    assert all(
        e["extractor"] == "DIETEntityExtractor"
        for m in loaded.process(features.messages(*texts))
        for e in m.get(ENTITIES)
    )
