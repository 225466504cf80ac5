"""The sentence intent classifier inside Rasa, on real word counts and MiniLM vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.minilm_featurizer import configured_encoder_dir
from assistant.nlu.sentence_classifier import (
    MODEL_FILE,
    WEIGHTS_FILE,
    SentenceIntentClassifier,
    UnsafeModelFile,
)
from tests.assistant.features import Features, context

pytestmark = pytest.mark.skipif(
    not (configured_encoder_dir({}) / "model.onnx").exists(),
    reason="no exported encoder (make setup exports it)",
)

EXAMPLES = {
    "track_order": [
        "where is my order",
        "has my parcel shipped yet",
        "when will my package arrive",
        "track my delivery please",
        "my order still has not come",
    ],
    "get_refund": [
        "I want my money back",
        "please refund my purchase",
        "how do I get a refund",
        "return this item for a refund",
        "can I have a refund for order 100002",
    ],
    "reset_password": [
        "I forgot my password",
        "cannot log in to my account",
        "reset my password please",
        "my login does not work",
        "help me change my password",
    ],
}


class Pipeline(Features):
    """The featurizers, with word 1-2-grams, trained on EXAMPLES."""

    def __init__(self, storage: LocalModelStorage) -> None:
        super().__init__(storage, max_ngram=2)

    def training_data(self) -> TrainingData:
        return self.fit(
            TrainingData(
                [
                    Message(data={TEXT: text, INTENT: intent})
                    for intent, texts in EXAMPLES.items()
                    for text in texts
                ]
            )
        )


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir()
    return LocalModelStorage(tmp_path / "storage")


def classifier(storage: LocalModelStorage, **config: Any) -> SentenceIntentClassifier:
    full = {**SentenceIntentClassifier.get_default_config(), **config}
    return SentenceIntentClassifier.create(full, storage, Resource("intents"), context("c"))


def ranking(message: Message) -> list[tuple[str, float]]:
    return [(r["name"], r["confidence"]) for r in message.get(INTENT_RANKING_KEY)]


def test_unseen_paraphrases_get_the_right_intent_and_a_sorted_ranking(
    storage: LocalModelStorage,
) -> None:
    pipeline = Pipeline(storage)
    component = classifier(storage, featurizers=["words", "minilm"], ranking_length=2)
    component.train(pipeline.training_data())

    texts = ("where is my package", "I would like a refund", "I can't sign in")
    results = component.process(pipeline.messages(*texts))

    assert [m.get(INTENT)["name"] for m in results] == [
        "track_order",
        "get_refund",
        "reset_password",
    ]
    for message in results:
        ranked = ranking(message)
        assert len(ranked) == 2
        assert ranked[0][1] >= ranked[1][1]
        assert message.get(INTENT)["confidence"] == ranked[0][1]
        assert sum(confidence for _, confidence in ranked) <= 1.0 + 1e-6


def test_two_intents_are_told_apart(storage: LocalModelStorage) -> None:
    """scikit-learn fits one weight row for two classes; both must still be predicted."""
    pipeline = Pipeline(storage)
    data = pipeline.training_data()
    data = TrainingData([m for m in data.training_examples if m.get(INTENT) != "get_refund"])
    component = classifier(storage)
    component.train(data)

    results = component.process(pipeline.messages("where is my package", "I can't sign in"))

    assert [m.get(INTENT)["name"] for m in results] == ["track_order", "reset_password"]
    for message in results:
        assert np.isclose(sum(confidence for _, confidence in ranking(message)), 1.0)


def test_persisted_model_predicts_the_same_without_pickle(
    storage: LocalModelStorage, tmp_path: Path
) -> None:
    pipeline = Pipeline(storage)
    config = {**SentenceIntentClassifier.get_default_config(), "ranking_length": 0}
    component = SentenceIntentClassifier.create(config, storage, Resource("intents"), context("c"))
    component.train(pipeline.training_data())
    before = ranking(component.process(pipeline.messages("refund order 100004 please"))[0])

    loaded = SentenceIntentClassifier.load(config, storage, Resource("intents"), context("c"))
    after = ranking(loaded.process(pipeline.messages("refund order 100004 please"))[0])

    assert [name for name, _ in after] == [name for name, _ in before]
    assert np.allclose([c for _, c in after], [c for _, c in before], atol=1e-6)
    assert len(after) == len(EXAMPLES)  # ranking_length 0: every intent
    stored = tmp_path / "storage" / "intents"
    assert {p.name for p in stored.iterdir()} == {MODEL_FILE, WEIGHTS_FILE}
    with np.load(stored / WEIGHTS_FILE, allow_pickle=False) as arrays:
        # One weight per feature: word counts (uni- and bigrams) plus MiniLM's 384 dimensions.
        width = arrays["coef"].shape[1]
        assert arrays["coef"].shape[0] == len(EXAMPLES)
        assert width == arrays["idf:words"].shape[0] + 384


def test_every_block_is_scaled_to_unit_length(storage: LocalModelStorage) -> None:
    pipeline = Pipeline(storage)
    component = classifier(storage)
    component.train(pipeline.training_data())
    model = component._model
    assert model is not None and model.origins == ["minilm", "words"]

    [message] = pipeline.messages("where is my order order order")
    features = model.features([component._blocks(message)]).toarray()[0]
    minilm, words = features[:384], features[384:]
    assert np.isclose(np.linalg.norm(minilm), 1.0) and np.isclose(np.linalg.norm(words), 1.0)
    assert words.shape == model.idf["words"].shape


def test_weights_that_need_pickle_are_refused(storage: LocalModelStorage, tmp_path: Path) -> None:
    pipeline = Pipeline(storage)
    config = SentenceIntentClassifier.get_default_config()
    component = SentenceIntentClassifier.create(config, storage, Resource("intents"), context("c"))
    component.train(pipeline.training_data())
    weights = tmp_path / "storage" / "intents" / WEIGHTS_FILE
    # An object array is stored with pickle: a tampered model file could run code on load.
    np.savez(weights, coef=np.array([{"x": 1}], dtype=object), intercept=np.zeros(3))

    with pytest.raises(UnsafeModelFile, match="plain numeric arrays"):
        SentenceIntentClassifier.load(config, storage, Resource("intents"), context("c"))


def test_unknown_featurizer_names_are_a_clear_error(storage: LocalModelStorage) -> None:
    pipeline = Pipeline(storage)
    component = classifier(storage, featurizers=["spacy"])
    with pytest.raises(ValueError, match="alias"):
        component.train(pipeline.training_data())


def test_an_untrained_model_loads_and_classifies_nothing(storage: LocalModelStorage) -> None:
    pipeline = Pipeline(storage)
    config = SentenceIntentClassifier.get_default_config()
    loaded = SentenceIntentClassifier.load(config, storage, Resource("never"), context("c"))
    [message] = loaded.process(pipeline.messages("where is my order"))
    assert message.get(INTENT) is None


@pytest.mark.parametrize(
    "bad", [{"C": 0}, {"max_iter": 0}, {"ranking_length": -1}], ids=["C", "max_iter", "ranking"]
)
def test_invalid_config_is_refused(storage: LocalModelStorage, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="SentenceIntentClassifier"):
        classifier(storage, **bad)
