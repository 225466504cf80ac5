"""The featurizers the NLU components under test read, as config.yml chains them: whitespace
tokens, word counts ("words") and MiniLM token and sentence vectors ("minilm")."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.minilm_featurizer import MiniLMFeaturizer


def context(name: str) -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name=name)


class Features:
    """Trained on the data given to `fit`, then applied to new messages."""

    def __init__(self, storage: LocalModelStorage, max_ngram: int = 1) -> None:
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        words = {
            **CountVectorsFeaturizer.get_default_config(),
            "alias": "words",
            "max_ngram": max_ngram,
        }
        self.words = CountVectorsFeaturizer.create(
            words, storage, Resource("words"), context("words")
        )
        minilm = {**MiniLMFeaturizer.get_default_config(), "alias": "minilm"}
        self.minilm = MiniLMFeaturizer.create(minilm, storage, Resource("minilm"), context("m"))

    def fit(self, data: TrainingData) -> TrainingData:
        self.tokenizer.process_training_data(data)
        self.words.train(data)
        self.words.process_training_data(data)
        self.minilm.process_training_data(data)
        return data

    def messages(self, *texts: str) -> list[Message]:
        result = [Message(data={TEXT: text}) for text in texts]
        self.tokenizer.process(result)
        self.words.process(result)
        self.minilm.process(result)
        return result
