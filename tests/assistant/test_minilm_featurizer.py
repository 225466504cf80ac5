"""The MiniLM featurizer inside Rasa: feature shapes, persistence round trip, no network."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.minilm_featurizer import MiniLMFeaturizer, configured_encoder_dir
from common.encoder import EncoderMissing

ENCODER_DIR = configured_encoder_dir({})
pytestmark = pytest.mark.skipif(
    not (ENCODER_DIR / "model.onnx").exists(),
    reason=f"no exported encoder at {ENCODER_DIR} (make setup exports it)",
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test: the model must come from disk."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="minilm")


def messages(*texts: str) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    result = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(result)
    return result


def featurizer(tmp_path: Path) -> tuple[MiniLMFeaturizer, LocalModelStorage, Resource]:
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("minilm")
    config = MiniLMFeaturizer.get_default_config()
    return MiniLMFeaturizer.create(config, storage, resource, context()), storage, resource


def features(message: Message) -> tuple[np.ndarray, np.ndarray]:
    sequence, sentence = message.get_dense_features(TEXT, [])
    assert sequence is not None and sentence is not None
    return sequence.features, sentence.features


def test_one_vector_per_token_and_one_per_sentence(tmp_path: Path) -> None:
    component, _, _ = featurizer(tmp_path)
    [message] = component.process(messages("where is my order #100001? it's late"))
    sequence, sentence = features(message)
    tokens = [t.text for t in message.get(TOKENS_NAMES[TEXT])]
    assert tokens == ["where", "is", "my", "order", "#100001", "it", "s", "late"]
    assert sequence.shape == (len(tokens), 384)
    assert sentence.shape == (1, 384)
    assert np.isclose(np.linalg.norm(sentence), 1.0, atol=1e-5)
    assert np.all(np.abs(sequence).sum(axis=1) > 0)  # every token got its word pieces


def test_paraphrases_are_closer_than_unrelated_requests(tmp_path: Path) -> None:
    component, _, _ = featurizer(tmp_path)
    texts = ("where is my parcel", "track my package", "I forgot my password")
    vectors = [features(m)[1][0] for m in component.process(messages(*texts))]
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_persisted_model_loads_without_the_export_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    component, storage, resource = featurizer(tmp_path)
    component.train(TrainingData(messages("hello")))
    before = features(component.process(messages("cancel order 100004"))[0])

    monkeypatch.setenv("SUPPORTBOT_ENCODER_DIR", str(tmp_path / "nowhere"))
    loaded = MiniLMFeaturizer.load(
        MiniLMFeaturizer.get_default_config(), storage, resource, context()
    )
    after = features(loaded.process(messages("cancel order 100004"))[0])

    assert np.allclose(before[0], after[0]) and np.allclose(before[1], after[1])
    stored = {p.name for p in (tmp_path / "storage" / "minilm").iterdir()}
    assert stored >= {"model.onnx", "tokenizer.json", "encoder.json"}
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in stored)


def test_a_missing_encoder_says_how_to_make_it(tmp_path: Path) -> None:
    config = {**MiniLMFeaturizer.get_default_config(), "encoder_dir": str(tmp_path)}
    with pytest.raises(EncoderMissing, match="make setup"):
        MiniLMFeaturizer.create(config, LocalModelStorage(tmp_path), Resource("m"), context())


def test_customer_messages_are_not_kept_in_memory(tmp_path: Path) -> None:
    """An erased conversation must not live on in the server: only training texts are cached."""
    component, _, _ = featurizer(tmp_path)
    component.process_training_data(TrainingData(messages("where is my order")))
    said = "my card 4111 1111 1111 1111 was charged twice"
    once = features(component.process(messages(said, "where is my order"))[0])
    again = features(component.process(messages(said))[0])
    assert np.allclose(once[1], again[1])
    assert said not in repr(vars(component))
