"""Train the escalation decision from data/escalation/train.jsonl.

    python -m lab.escalation.train --out var/escalation/

A logistic regression on the standardised features of `supportbot.escalation` and the last
message's sentence vector, trained on the labelled snippets and, as ordinary messages that need
no person, the project's hand-written NLU examples (lab.escalation.snippets.ordinary_requests).
Cross-validation on that training data alone chooses the regularisation strength C and the
class weighting (by average precision of the out-of-fold probabilities) and then the threshold
with the best out-of-fold F1. (A threshold for out-of-fold recall >= 0.92 fell to 0.05-0.13 once
ordinary messages were in the data, and then "that's all, bye" went to a person.)
test.jsonl is never read here (it is for `supportbot-lab bench-escalation`).
Everything is seeded: the same data and sentiment model give the same model.json.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from lab.escalation.snippets import (
    TRAIN,
    Snippet,
    last_message_vectors,
    ordinary_requests,
    read_snippets,
    score_turns,
)
from supportbot.escalation import FEATURE_NAMES, EscalationModel, Turn, features, may_escalate
from supportbot.sentiment import get_sentiment_model

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")
FOLDS = 5
SEED = 17


def feature_matrix(scored: Sequence[Sequence[Turn]], snippets: Sequence[Snippet]) -> np.ndarray:
    rows = [features(turns, s.tier) for turns, s in zip(scored, snippets, strict=True)]
    return np.array([[row[name] for name in FEATURE_NAMES] for row in rows], dtype=float)


def _fit(x: np.ndarray, y: np.ndarray, c: float, class_weight: str | None) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        LogisticRegression(C=c, class_weight=class_weight, max_iter=5000, random_state=SEED),
    ).fit(x, y)


def out_of_fold(x: np.ndarray, y: np.ndarray, c: float, class_weight: str | None) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros(len(y))
    for train, held in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(x, y):
        probabilities[held] = _fit(x[train], y[train], c, class_weight).predict_proba(x[held])[:, 1]
    return probabilities


def best_threshold(y: np.ndarray, probabilities: np.ndarray, eligible: np.ndarray) -> float:
    """The threshold with the best out-of-fold F1, counting as handed over only the snippets
    whose last message may escalate at all (supportbot.escalation.may_escalate)."""
    positives = max(1, int(np.sum(y == 1)))
    best, best_f1 = 0.5, -1.0
    for threshold in np.unique(probabilities):
        chosen = (probabilities >= threshold) & eligible
        found = float(np.sum(chosen & (y == 1)))
        if found == 0:
            continue
        precision, recall = found / float(np.sum(chosen)), found / positives
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def train(
    snippets: Sequence[Snippet], source: Path = TRAIN, log: Callable[[str], None] = print
) -> tuple[EscalationModel, dict[str, Any]]:
    from sklearn.metrics import average_precision_score

    model = get_sentiment_model()
    scored = score_turns(snippets, model, log=log)
    hand = feature_matrix(scored, snippets)
    x = np.hstack([hand, last_message_vectors(snippets)])
    y = np.array([s.escalate for s in snippets], dtype=int)
    log(f"Cross-validating C x class weight on {len(y)} snippets ({int(y.sum())} escalate)")
    with threadpool_limits(1):
        results = []
        for class_weight in CLASS_WEIGHTS:
            for c in C_GRID:
                ap = average_precision_score(y, out_of_fold(x, y, c, class_weight))
                results.append((ap, c, class_weight))
                log(f"  C={c:<5} class_weight={class_weight!s:<8} average precision {ap:.3f}")
        ap, c, class_weight = max(results, key=lambda r: r[0])
        oof = out_of_fold(x, y, c, class_weight)
        eligible = np.array([may_escalate(turns[-1]) for turns in scored])
        threshold = best_threshold(y, oof, eligible)
        fitted = _fit(x, y, c, class_weight)
    predicted = (oof >= threshold) & eligible
    tp = int(np.sum(predicted & (y == 1)))
    cv = {
        "C": c,
        "class_weight": class_weight,
        "average_precision": round(float(ap), 4),
        "threshold": round(threshold, 4),
        "threshold_by": "out-of-fold F1",
        "precision": round(tp / max(1, int(predicted.sum())), 4),
        "recall": round(tp / max(1, int(y.sum())), 4),
    }
    log(
        f"Chosen C={c}, class_weight={class_weight}; out-of-fold at threshold {threshold:.3f}: "
        f"precision {cv['precision']:.3f}, recall {cv['recall']:.3f}"
    )
    scaler, regression = (
        fitted.named_steps["standardscaler"],
        fitted.named_steps["logisticregression"],
    )
    means = [float(m) for m in scaler.mean_]
    scales = [float(s) if s > 0 else 1.0 for s in scaler.scale_]
    weights = [float(w) for w in regression.coef_[0]]
    n = hand.shape[1]  # the named features first, then the vector's dimensions
    escalation = EscalationModel(
        means=dict(zip(FEATURE_NAMES, means[:n], strict=True)),
        scales=dict(zip(FEATURE_NAMES, scales[:n], strict=True)),
        weights=dict(zip(FEATURE_NAMES, weights[:n], strict=True)),
        intercept=float(regression.intercept_[0]),
        threshold=threshold,
        vector_means=tuple(means[n:]),
        vector_scales=tuple(scales[n:]),
        vector_weights=tuple(weights[n:]),
        metadata={
            "sentiment_model": model.name,
            "data": source.name,
            "ordinary_requests": sum(s.id.startswith("nlu-") for s in snippets),
            "data_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "snippets": len(y),
            "cross_validation": cv,
        },
    )
    return escalation, cv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for model.json")
    parser.add_argument("--data", type=Path, default=TRAIN, help="training snippets (JSONL)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        snippets = read_snippets(args.data)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    ordinary = ordinary_requests()
    print(f"{len(snippets)} labelled snippets and {len(ordinary)} ordinary requests from data/nlu")
    snippets += ordinary
    model, _ = train(snippets, args.data, log=lambda line: print(line, flush=True))
    path = model.save(args.out)
    print(f"Wrote {path} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
