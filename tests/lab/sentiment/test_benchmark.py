"""The benchmark: its data, its scorer (checked on TweetEval's shipped predictions), a quick run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab.cli import main
from lab.datasets.sentiment import (
    DatasetMissing,
    datasets_dir,
    load_airline,
    load_tweeteval,
    load_tweeteval_published,
    load_tweeteval_reference_predictions,
)
from lab.sentiment.benchmark import SCORER_CHECK, score
from lab.sentiment.train import read_examples
from supportbot.settings import get_settings

needs_data = pytest.mark.skipif(
    not (datasets_dir() / "tweeteval_sentiment" / "test_text.txt").exists(),
    reason=f"the public sentiment datasets are not at {datasets_dir()} (SUPPORTBOT_DATASETS_DIR)",
)


@needs_data
def test_scorer_reproduces_the_published_rob_rt_result() -> None:
    test = load_tweeteval("test")
    assert len(test.texts) == 12_284
    scores = score(test.labels, load_tweeteval_reference_predictions())
    assert round(scores.macro_recall, 2) == SCORER_CHECK
    assert round(scores.accuracy, 2) == 72.32


@needs_data
def test_published_table_and_airline_tweets_load() -> None:
    published = {row.system: row.macro_recall for row in load_tweeteval_published()}
    assert published["RoBERTa-Retrained (RoB-RT)"] == 72.8
    assert published["SVM"] == 62.9
    airline = load_airline()
    assert len(airline.texts) == 14_485  # 14,640 rows, 155 repeated tweet ids
    assert set(airline.labels) == {"negative", "neutral", "positive"}


@needs_data
def test_no_evaluation_text_is_trained_on() -> None:
    training = {example.text for example in read_examples()}
    assert not training & set(load_tweeteval("test").texts)
    assert not training & set(load_airline().texts)


def test_missing_datasets_name_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_DATASETS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(DatasetMissing, match=str(tmp_path)):
            load_tweeteval("test")
    finally:
        get_settings.cache_clear()


@pytest.mark.bench
@needs_data
def test_quick_benchmark_run(head: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "sentiment.md"
    assert main(["bench-sentiment", "--limit", "40", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    for expected in ("minilm-head", "vader", "macro recall (official)", "p95", "Targets"):
        assert expected in out
    assert report.read_text() in out
