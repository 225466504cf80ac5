"""`supportbot-lab nlu-report`: the bot's NLU results scored like the benchmark's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.nlu_report import format_table, read_scores


def entity(start: int, end: int, name: str, value: str, extractor: str = "") -> dict:
    found = {"start": start, "end": end, "entity": name, "value": value}
    return {**found, "extractor": extractor} if extractor else found


def write_results(path: Path, cases: list[dict], predictions: list[dict]) -> Path:
    path.write_text(json.dumps({"load_seconds": 1.0, "cases": cases, "predictions": predictions}))
    return path


def test_entities_of_two_extractors_count_together(tmp_path: Path) -> None:
    order, city = entity(7, 13, "order_id", "100004"), entity(8, 14, "delivery_city", "Boston")
    cases = [
        {"text": "cancel 100004", "intent": "cancel_order", "entities": [order]},
        {"text": "ship to Boston", "intent": "delivery", "entities": [city]},
    ]
    predictions = [
        {"intent": "cancel_order", "ms": 9.0,
         "entities": [entity(7, 13, "order_id", "100004", "RegexEntityExtractor")]},
        {"intent": "track_order", "ms": 11.0,
         "entities": [entity(8, 14, "delivery_city", "Boston", "DIETEntityExtractor")]},
    ]  # fmt: skip
    scores = read_scores(write_results(tmp_path / "heldout.json", cases, predictions))

    assert (scores.name, scores.examples, scores.intent_accuracy) == ("heldout", 2, 0.5)
    assert (scores.entity_f1, scores.entity_f1_overlap) == (1.0, 1.0)
    table = format_table([scores])
    assert "heldout" in table and "50.00%" in table and "1.000" in table


def test_a_fallback_is_wrong_but_the_guess_behind_it_is_reported(tmp_path: Path) -> None:
    cases = [{"text": t, "intent": "greet", "entities": []} for t in ("hi", "hey")]
    predictions = [
        {"intent": "greet", "entities": [], "ms": 5.0},
        {"intent": "nlu_fallback", "top_intent": "greet", "entities": [], "ms": 5.0},
    ]
    scores = read_scores(write_results(tmp_path / "greetings.json", cases, predictions))
    assert (scores.intent_accuracy, scores.fallback_rate) == (0.5, 0.5)
    assert scores.accuracy_without_fallback == 1.0


def test_a_set_without_entities_says_so(tmp_path: Path) -> None:
    cases = [{"text": "hi", "intent": "greet", "entities": []}]
    predictions = [{"intent": "greet", "entities": [], "ms": 5.0}]
    scores = read_scores(write_results(tmp_path / "greetings.json", cases, predictions))
    assert scores.entity_f1 is None and "n/a" in format_table([scores])


def test_a_file_without_gold_cases_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps({"predictions": [{"intent": "greet"}]}))
    with pytest.raises(ValueError, match="expected gold cases"):
        read_scores(path)
    with pytest.raises(FileNotFoundError):
        read_scores(tmp_path / "missing.json")
