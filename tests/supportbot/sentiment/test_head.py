"""Training, persisting and loading the built-in head; choosing a model from the settings."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import supportbot.sentiment.loader as loader
from lab.sentiment.train import Config, Example, data_fingerprint, read_examples, train_head
from supportbot.sentiment import (
    SentimentModelMissing,
    VaderSentiment,
    get_sentiment_model,
    load_sentiment_model,
)
from supportbot.sentiment.head import HEAD_FILE, HeadParameters, HeadSentiment, read_head, save_head
from supportbot.settings import PROJECT_ROOT, Settings, get_settings

SAMPLE = ["thanks, that was quick!", "my parcel is late again, furious", "where is order 100001?"]
SMALL_GRID = [Config(True, 1.0, "balanced"), Config(False, 0.3, None)]


def small_subset() -> list[Example]:
    """20 messages of each label from each training file: a head in about a second."""
    picked: list[Example] = []
    for example in read_examples():
        same = [e for e in picked if e.label == example.label and e.source == example.source]
        if len(same) < 20:
            picked.append(example)
    return picked


def train_small(encoder: Any, fingerprint: str = "test-encoder") -> HeadParameters:
    return train_head(
        small_subset(),
        encoder,
        encoder_sha256=fingerprint,
        folds=3,
        seed=0,
        configs=SMALL_GRID,
        log=lambda _: None,
    )


def test_training_is_deterministic(encoder: Any) -> None:
    first, second = train_small(encoder), train_small(encoder)
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.bias, second.bias)
    assert first.training["cv_results"] == second.training["cv_results"]


def test_persist_and_load_round_trip(encoder: Any, encoder_dir: Path, tmp_path: Path) -> None:
    from supportbot.sentiment.head import encoder_fingerprint

    parameters = train_small(encoder, encoder_fingerprint(encoder_dir))
    path = save_head(parameters, tmp_path)
    stored = json.loads(path.read_text())  # plain JSON: nothing to unpickle
    assert stored["classes"] == ["negative", "neutral", "positive"]
    assert stored["features"]["count"] == len(stored["weights"][0])
    loaded = HeadSentiment.load(tmp_path, encoder, encoder_dir)
    assert np.array_equal(loaded.parameters.weights, parameters.weights)
    assert np.array_equal(loaded.parameters.bias, parameters.bias)
    assert loaded.analyse(SAMPLE) == HeadSentiment(parameters, encoder).analyse(SAMPLE)


def test_missing_head_says_run_make_setup(tmp_path: Path, encoder_dir: Path) -> None:
    with pytest.raises(SentimentModelMissing, match="make setup"):
        read_head(tmp_path)
    settings = Settings(sentiment_dir=tmp_path / "sentiment", encoder_dir=encoder_dir)
    with pytest.raises(SentimentModelMissing, match="make setup") as caught:
        load_sentiment_model(settings)
    assert str(tmp_path / "sentiment" / HEAD_FILE) in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)


def test_damaged_head_says_run_make_setup(tmp_path: Path) -> None:
    (tmp_path / HEAD_FILE).write_text("{not json")
    with pytest.raises(SentimentModelMissing, match="make setup"):
        read_head(tmp_path)
    (tmp_path / HEAD_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(SentimentModelMissing, match="make setup"):
        read_head(tmp_path)


def test_head_for_another_encoder_is_refused(
    encoder: Any, encoder_dir: Path, tmp_path: Path
) -> None:
    save_head(train_small(encoder, "0" * 64), tmp_path)
    with pytest.raises(SentimentModelMissing, match="another encoder"):
        HeadSentiment.load(tmp_path, encoder, encoder_dir)


def test_built_head_records_its_provenance(head: Any) -> None:
    parameters = head.parameters
    assert parameters.training_data == data_fingerprint()
    assert {"cv_score", "chosen", "seed", "versions"} <= set(parameters.training)
    assert 0.0 < parameters.training["cv_score"] <= 1.0


def test_settings_choose_the_built_head(head: Any, head_dir: Path, encoder_dir: Path) -> None:
    settings = dataclasses.replace(
        get_settings(), data_dir=head_dir.parent, encoder_dir=encoder_dir, sentiment_model=None
    )
    model = load_sentiment_model(settings)
    assert model.name == "minilm-head"
    assert model.analyse(SAMPLE) == head.analyse(SAMPLE)


def test_process_model_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    model = VaderSentiment()

    def slow_load() -> Any:
        calls.append(1)
        time.sleep(0.05)  # long enough for the other threads to arrive meanwhile
        return model

    monkeypatch.setattr(loader, "_model", None)
    monkeypatch.setattr(loader, "load_sentiment_model", slow_load)
    with ThreadPoolExecutor(max_workers=8) as pool:
        models = list(pool.map(lambda _: get_sentiment_model(), range(8)))
    assert all(m is model for m in models)
    assert get_sentiment_model() is model
    assert len(calls) == 1


def test_training_data_is_in_the_repo_and_balanced_enough() -> None:
    examples = read_examples(PROJECT_ROOT / "data" / "sentiment")
    support = [e for e in examples if e.source == "support.tsv"]
    tweets = [e for e in examples if e.source == "tweeteval_val.tsv"]
    assert len(tweets) == 2000
    assert 280 <= len(support) <= 330
    for label in ("negative", "neutral", "positive"):
        assert 90 <= sum(e.label == label for e in support) <= 110
