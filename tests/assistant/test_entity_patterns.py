"""The regex entities of data/nlu/entities.yml, as Rasa's RegexEntityExtractor reads them: every
annotated email in the training data is found whole, and no text makes the email pattern slow."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tests.email_attacks import LINEAR_BOUND_S, LONG_RUNS

NLU_DATA = Path(__file__).resolve().parents[2] / "data" / "nlu"


@pytest.fixture(scope="module")
def training_data() -> TrainingData:
    return load_data(str(NLU_DATA))


@pytest.fixture(scope="module")
def extractor(training_data: TrainingData, tmp_path_factory: pytest.TempPathFactory) -> Any:
    extractor = RegexEntityExtractor.create(
        RegexEntityExtractor.get_default_config(),
        LocalModelStorage(tmp_path_factory.mktemp("regex")),
        Resource("regex"),
        ExecutionContext(GraphSchema({}), node_name="regex"),
    )
    extractor.train(training_data)
    return extractor


def emails(extractor: RegexEntityExtractor, text: str) -> list[str]:
    [message] = extractor.process([Message(data={TEXT: text})])
    return [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == "email"]


def test_every_annotated_email_in_the_training_data_is_found_whole(
    training_data: TrainingData, extractor: RegexEntityExtractor
) -> None:
    annotated = [
        (example.get(TEXT), entity["value"])
        for example in training_data.nlu_examples
        for entity in example.get(ENTITIES, [])
        if entity["entity"] == "email"
    ]
    assert len(annotated) >= 10
    for text, email in annotated:
        assert email in emails(extractor, text), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "write to ada.lovelace+shop@mail.example.co.uk please",
            ["ada.lovelace+shop@mail.example.co.uk"],
        ),
        ("ada@example.com, grace@example.com", ["ada@example.com", "grace@example.com"]),
        ("ada@example", []),
        (f"{'a' * 65}@example.com", []),  # longer than any mailbox name
    ],
)
def test_addresses_in_a_sentence(
    extractor: RegexEntityExtractor, text: str, expected: list[str]
) -> None:
    assert emails(extractor, text) == expected


@pytest.mark.parametrize("text", list(LONG_RUNS.values()), ids=list(LONG_RUNS))
def test_the_email_pattern_takes_linear_time(training_data: TrainingData, text: str) -> None:
    """200 KB without spaces: the old pattern took 4.45 s on 20 KB, and would take minutes here
    (quadratic); a linear scan takes milliseconds. Only the email pattern, as the extractor and
    the featurizer run it (re.finditer, ignoring case)."""
    [pattern] = [p["pattern"] for p in training_data.regex_features if p["name"] == "email"]
    started = time.perf_counter()
    list(re.finditer(pattern, text, flags=re.IGNORECASE))
    assert time.perf_counter() - started < LINEAR_BOUND_S
