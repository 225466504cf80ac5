"""The Bitext import: a deterministic, stratified train subset, and no evaluation data leaks."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.datasets.bitext import dataset_dir, load_split, stratified_subset, to_yaml

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([\w]+)\)|\{\"entity\": \"(\w+)\"[^}]*\})")

pytestmark = pytest.mark.skipif(
    not (dataset_dir() / "train.csv").exists(), reason=f"Bitext data not found at {dataset_dir()}"
)


def plain(example_line: str) -> str:
    """An annotated example as the customer typed it, normalised for comparison."""
    text = ANNOTATION.sub(lambda m: m.group(1), example_line)
    return " ".join(text.lower().split())


def training_utterances() -> set[str]:
    found = set()
    for path in (ROOT / "data" / "nlu").rglob("*.yml"):
        for line in path.read_text().splitlines():
            if line.startswith("      - "):
                found.add(plain(line[len("      - ") :]))
    return found


def test_subset_is_deterministic_and_stratified() -> None:
    train = load_split("train")
    first = stratified_subset(train, per_intent=20, seed=3)
    second = stratified_subset(train, per_intent=20, seed=3)

    assert first == second
    counts = Counter(example.intent for example in first)
    assert len(counts) == 27 and set(counts.values()) == {20}
    assert stratified_subset(train, per_intent=20, seed=4) != first


def test_no_dev_or_test_utterance_is_trained_on() -> None:
    trained = training_utterances()
    for split in ("dev", "test"):
        leaked = [e.text for e in load_split(split) if plain(e.annotated()) in trained]
        assert leaked == [], f"{split} utterances found in data/nlu: {leaked[:5]}"


def test_held_out_file_is_not_trained_on() -> None:
    held_out = {
        plain(line[len("      - ") :])
        for line in (ROOT / "tests" / "nlu" / "heldout.yml").read_text().splitlines()
        if line.startswith("      - ")
    }
    assert held_out & training_utterances() == set()


def test_annotations_keep_the_entity_span() -> None:
    examples = [e for e in load_split("train") if e.entity][:300]
    for example in examples:
        annotated = example.annotated()
        match = ANNOTATION.search(annotated)
        assert match is not None, annotated
        assert match.group(1) == example.text[example.start : example.end]
        assert (match.group(2) or match.group(3)) == example.entity


def test_yaml_groups_examples_by_intent() -> None:
    examples = stratified_subset(load_split("train"), per_intent=2, seed=1)
    text = to_yaml(examples, "header")
    assert text.startswith("# header\n")
    assert text.count("  - intent: ") == 27
