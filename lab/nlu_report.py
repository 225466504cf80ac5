"""Summarise the bot's NLU test results: intent accuracy, macro-F1 and entity F1.

Each results file holds a Rasa NLU test file's gold cases and the trained model's predictions
(`python -m lab.nlu_bench.evaluate --nlu ...`), scored with the NLU benchmark's metrics. Rasa's
own `rasa test nlu` scores every entity extractor apart against all gold entities, which
misreports a pipeline whose extractors share the work (DIET and the regexes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lab.nlu_bench.metrics import score


@dataclass(frozen=True)
class NLUScores:
    """Headline numbers of one test file."""

    name: str
    examples: int
    intent_accuracy: float  # a fallback counts as wrong
    intent_macro_f1: float
    fallback_rate: float
    accuracy_without_fallback: float  # the classifier's own best guess, as `rasa test nlu` scores
    entity_f1: float | None
    entity_f1_overlap: float | None


def read_scores(results_file: Path) -> NLUScores:
    """Score one results file.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if it holds no gold cases, or not one prediction per case.
    """
    data = json.loads(results_file.read_text(encoding="utf-8"))
    cases, predictions = data.get("cases"), data.get("predictions")
    if not cases or not isinstance(predictions, list) or len(predictions) != len(cases):
        raise ValueError(f"{results_file}: expected gold cases and one prediction for each")
    has_entities = any(case["entities"] for case in cases)
    scores = score(cases, predictions, has_entities=has_entities)
    return NLUScores(
        name=results_file.stem,
        examples=len(cases),
        intent_accuracy=float(scores["accuracy"]),
        intent_macro_f1=float(scores["macro_f1"]),
        fallback_rate=float(scores["fallback_rate"]),
        accuracy_without_fallback=float(scores["accuracy_without_fallback"]),
        entity_f1=scores.get("entity_f1"),
        entity_f1_overlap=scores.get("entity_f1_overlap"),
    )


def format_table(scores: list[NLUScores]) -> str:
    """A plain-text table, one row per results file."""
    header = (
        f"{'test set':<20} {'examples':>8} {'intent acc':>10} {'macro-F1':>9} {'fallback':>8} "
        f"{'acc w/o fallback':>16} {'entity F1':>9} {'(overlap)':>9}"
    )
    rows = [header, "-" * len(header)]
    for s in scores:
        exact = "n/a" if s.entity_f1 is None else f"{s.entity_f1:.3f}"
        overlap = "n/a" if s.entity_f1_overlap is None else f"{s.entity_f1_overlap:.3f}"
        rows.append(
            f"{s.name:<20} {s.examples:>8} {s.intent_accuracy:>10.2%} {s.intent_macro_f1:>9.3f} "
            f"{s.fallback_rate:>8.2%} {s.accuracy_without_fallback:>16.2%} {exact:>9} {overlap:>9}"
        )
    return "\n".join(rows)
