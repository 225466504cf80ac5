"""Scores of one cell's predictions: intent accuracy, macro-F1, entity F1, OOS, latency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from lab.latency import p50_p95

FALLBACK = "nlu_fallback"


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the gold classes.

    A fallback prediction counts as wrong; it is no class of its own in the macro average.
    """
    labels = sorted(set(gold))
    return {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(
            f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)
        ),
    }


def _mentions(entities: Sequence[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((str(e["entity"]), " ".join(str(e["value"]).lower().split())) for e in entities)


def _micro_f1(hits: int, n_gold: int, n_predicted: int) -> tuple[float, float, float]:
    precision = hits / n_predicted if n_predicted else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_f1(
    gold: Sequence[Sequence[dict[str, Any]]], predicted: Sequence[Sequence[dict[str, Any]]]
) -> dict[str, float]:
    """Micro precision/recall/F1 of exact (entity type, value) matches per message."""
    hits = n_gold = n_predicted = 0
    for gold_entities, predicted_entities in zip(gold, predicted, strict=True):
        g, p = _mentions(gold_entities), _mentions(predicted_entities)
        hits += sum((g & p).values())
        n_gold += sum(g.values())
        n_predicted += sum(p.values())
    precision, recall, f1 = _micro_f1(hits, n_gold, n_predicted)
    return {"entity_precision": precision, "entity_recall": recall, "entity_f1": f1}


def entity_overlap_f1(
    gold: Sequence[Sequence[dict[str, Any]]], predicted: Sequence[Sequence[dict[str, Any]]]
) -> dict[str, float]:
    """Micro F1 where a prediction matches a gold entity of the same type whose character span
    it overlaps (each gold entity matched once): the partial-match scoring of Liu et al. 2019."""
    hits = n_gold = n_predicted = 0
    for gold_entities, predicted_entities in zip(gold, predicted, strict=True):
        unmatched = list(gold_entities)
        for p in predicted_entities:
            for g in unmatched:
                if g["entity"] == p["entity"] and p["start"] < g["end"] and g["start"] < p["end"]:
                    unmatched.remove(g)
                    hits += 1
                    break
        n_gold += len(gold_entities)
        n_predicted += len(predicted_entities)
    return {"entity_f1_overlap": _micro_f1(hits, n_gold, n_predicted)[2]}


def oos_scores(gold: Sequence[str], predicted: Sequence[str], oos: str | None) -> dict[str, Any]:
    """Accuracy on in-scope queries, and recall of out-of-scope ones (None without any).

    A fallback prediction counts as "out of scope": that is what the bot would do with it.
    """
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos]
    out = [p for g, p in zip(gold, predicted, strict=True) if oos is not None and g == oos]
    return {
        "in_scope_accuracy": sum(g == p for g, p in in_scope) / len(in_scope) if in_scope else 0.0,
        "oos_recall": sum(p in (oos, FALLBACK) for p in out) / len(out) if out else None,
    }


# Fallback thresholds replayed on a cell's predictions.
SWEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 13))


def fallback_sweep(
    gold: Sequence[str],
    predictions: Sequence[dict[str, Any]],
    oos: str | None,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> list[dict[str, Any]]:
    """In-scope accuracy and OOS recall had FallbackClassifier used each threshold instead (no
    ambiguity threshold): a message falls back when its best intent's confidence is below it."""
    rows = []
    for threshold in thresholds:
        predicted = [
            FALLBACK
            if float(p.get("top_confidence", 1.0)) < threshold
            else str(p.get("top_intent") or p["intent"])
            for p in predictions
        ]
        rows.append({"threshold": threshold, **oos_scores(gold, predicted, oos)})
    return rows


def choose_threshold(
    sweeps: Sequence[Sequence[dict[str, Any]]], max_in_scope_loss: float = 0.005
) -> float:
    """The fallback threshold with the best OOS recall among those that cost at most
    `max_in_scope_loss` of in-scope accuracy (against no fallback) on every tuning set: sets
    without out-of-scope queries stand for deployments whose customers only ask what the bot
    knows, where each fallback is a lost answer. Ties go to the lower threshold (fewer
    fallbacks). Applied to the tuning sets' predictions only, never to a test split."""
    by_threshold: dict[float, list[dict[str, Any]]] = {}
    for sweep in sweeps:
        best_in_scope = max(row["in_scope_accuracy"] for row in sweep)
        for row in sweep:
            cost = best_in_scope - row["in_scope_accuracy"]
            by_threshold.setdefault(row["threshold"], []).append({**row, "cost": cost})
    allowed = {
        threshold: rows
        for threshold, rows in by_threshold.items()
        if len(rows) == len(sweeps) and all(r["cost"] <= max_in_scope_loss + 1e-9 for r in rows)
    }
    if not allowed:
        raise ValueError("no threshold of every sweep stays within the allowed in-scope cost")

    def recall(threshold: float) -> float:
        return sum(r["oos_recall"] or 0.0 for r in allowed[threshold])

    return float(max(allowed, key=lambda t: (recall(t), -t)))


def confused_pairs(
    gold: Sequence[str], predicted: Sequence[str], top: int | None = 10
) -> list[tuple[str, str, int]]:
    """The most frequent (gold, predicted) mistakes (all of them when `top` is None)."""
    mistakes = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return [(g, p, n) for (g, p), n in mistakes.most_common(top)]


def latency(ms: Sequence[float]) -> dict[str, float]:
    p50, p95 = p50_p95(ms)
    return {"p50_ms": p50, "p95_ms": p95}


def score(
    cases: Sequence[dict[str, Any]],
    predictions: Sequence[dict[str, Any]],
    *,
    has_entities: bool,
    oos: str | None = None,
) -> dict[str, Any]:
    """All metrics of one cell."""
    gold = [str(c["intent"]) for c in cases]
    predicted = [str(p["intent"]) for p in predictions]
    fallback_rate = sum(p == FALLBACK for p in predicted) / len(predicted)
    if oos is not None:
        # A fallback on an out-of-scope message is the right answer ("I can't help with that").
        predicted = [
            oos if g == oos and p == FALLBACK else p for g, p in zip(gold, predicted, strict=True)
        ]
    result: dict[str, Any] = {"examples": len(gold), **intent_scores(gold, predicted)}
    result["fallback_rate"] = fallback_rate
    # How the classifier alone does, before FallbackClassifier replaces unsure answers.
    top = [str(p.get("top_intent") or p["intent"]) for p in predictions]
    result["accuracy_without_fallback"] = intent_scores(gold, top)["accuracy"]
    if has_entities:
        gold_entities = [c["entities"] for c in cases]
        predicted_entities = [p["entities"] for p in predictions]
        result.update(entity_f1(gold_entities, predicted_entities))
        result.update(entity_overlap_f1(gold_entities, predicted_entities))
    if oos is not None:
        result.update(oos_scores(gold, predicted, oos))
    # What another fallback threshold would have done; the tuning sets choose it from this.
    result["fallback_sweep"] = fallback_sweep(gold, predictions, oos)
    result["confused"] = confused_pairs(gold, predicted)
    # Enough to draw the confusion between any intents in the report.
    result["mistakes"] = confused_pairs(gold, predicted, top=None)
    result["correct"] = dict(Counter(g for g, p in zip(gold, predicted, strict=True) if g == p))
    result.update(latency([float(p["ms"]) for p in predictions]))
    return result
