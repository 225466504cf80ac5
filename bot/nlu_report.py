"""Summarise `rasa test nlu` result folders: intent accuracy, macro-F1 and entity F1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NLUScores:
    """Headline numbers of one `rasa test nlu` run."""

    name: str
    examples: int
    intent_accuracy: float
    intent_macro_f1: float
    entity_f1: float | None


def read_scores(results_dir: Path) -> NLUScores:
    """Read the intent and entity reports Rasa wrote into `results_dir`.

    Raises:
        FileNotFoundError: if the folder holds no intent report.
    """
    intent_report = json.loads((results_dir / "intent_report.json").read_text())
    entity_f1 = None
    entity_path = results_dir / "DIETClassifier_report.json"
    if entity_path.exists():
        entity_report = json.loads(entity_path.read_text())
        # `micro avg` weighs every entity mention equally, the usual "entity F1".
        summary = entity_report.get("micro avg") or entity_report.get("weighted avg") or {}
        entity_f1 = summary.get("f1-score")
    return NLUScores(
        name=results_dir.name,
        examples=int(intent_report["macro avg"]["support"]),
        intent_accuracy=float(intent_report["accuracy"]),
        intent_macro_f1=float(intent_report["macro avg"]["f1-score"]),
        entity_f1=None if entity_f1 is None else float(entity_f1),
    )


def format_table(scores: list[NLUScores]) -> str:
    """A plain-text table, one row per result folder."""
    header = f"{'test set':<24} {'examples':>8} {'intent acc':>10} {'macro-F1':>9} {'entity F1':>9}"
    rows = [header, "-" * len(header)]
    for s in scores:
        entity = "n/a" if s.entity_f1 is None else f"{s.entity_f1:.3f}"
        rows.append(
            f"{s.name:<24} {s.examples:>8} {s.intent_accuracy:>10.2%} "
            f"{s.intent_macro_f1:>9.3f} {entity:>9}"
        )
    return "\n".join(rows)
