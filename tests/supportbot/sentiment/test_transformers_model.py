"""SENTIMENT_MODEL: a Hugging Face model directory instead of the head (a tiny random BERT here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.sentiment import SentimentModelError, load_sentiment_model
from supportbot.sentiment.base import LABELS
from supportbot.sentiment.transformers_model import map_labels
from supportbot.settings import Settings

WORDS = "the my parcel order is late again thanks a lot where refund great help i am furious you"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", "!", "?", *WORDS.split()]


def tiny_bert(directory: Path, id2label: dict[int, str]) -> Path:
    """A random 2-layer BERT classifier and its tokenizer, saved like a downloaded model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={name: index for index, name in id2label.items()},
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_a_local_model_directory_replaces_the_head(tmp_path: Path) -> None:
    directory = tiny_bert(tmp_path / "model", {0: "negative", 1: "neutral", 2: "positive"})
    settings = Settings(data_dir=tmp_path / "no-head-here", sentiment_model=str(directory))
    model = load_sentiment_model(settings)
    assert str(directory) in model.name
    texts = ["my parcel is late again, i am furious!", "thanks a lot, great help", "", "?"]
    results = model.analyse(texts)
    assert len(results) == len(texts)
    for result in results:
        assert result.label in LABELS
        assert -1.0 <= result.score <= 1.0
        assert 0.0 <= result.confidence <= 1.0
    assert results[2].label == "neutral" and results[2].score == 0.0
    for together, alone in zip(results, [model.analyse([t])[0] for t in texts], strict=True):
        assert together.label == alone.label
        assert together.score == pytest.approx(alone.score, abs=1e-4)


def test_generic_label_names_are_read_in_order(tmp_path: Path) -> None:
    directory = tiny_bert(tmp_path / "model", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    model = load_sentiment_model(Settings(sentiment_model=str(directory)))
    assert all(r.label in LABELS for r in model.analyse(["where is my order?"]))


def test_a_model_with_unmappable_labels_is_refused(tmp_path: Path) -> None:
    directory = tiny_bert(tmp_path / "emotions", {0: "joy", 1: "anger", 2: "surprise"})
    with pytest.raises(SentimentModelError, match="cannot map the labels") as caught:
        load_sentiment_model(Settings(sentiment_model=str(directory)))
    assert "joy" in str(caught.value)


def test_a_missing_model_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SentimentModelError, match="SENTIMENT_MODEL"):
        load_sentiment_model(Settings(sentiment_model=str(tmp_path / "nothing")))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["NEG", "NEU", "POS"], list(LABELS)),
        (["Negative", "Positive"], ["negative", "positive"]),
        (["LABEL_0", "LABEL_1", "LABEL_2"], list(LABELS)),
        (["positive", "negative", "neutral"], ["positive", "negative", "neutral"]),
    ],
)
def test_label_mapping(names: list[str], expected: list[str]) -> None:
    mapping = map_labels(dict(enumerate(names)))
    assert [mapping[name] for name in names] == expected


@pytest.mark.parametrize(
    "names",
    [
        ["LABEL_0", "LABEL_1"],  # two generic labels: which is which?
        ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"],
        ["negative", "neutral"],  # no positive class
        ["positive", "very positive", "negative"],  # two labels for one class
        ["toxic", "non-toxic", "positive"],
    ],
)
def test_unmappable_label_sets(names: list[str]) -> None:
    with pytest.raises(SentimentModelError, match="cannot map"):
        map_labels(dict(enumerate(names)))
