"""Train the built-in sentiment head from the labelled messages in data/sentiment/.

    python -m lab.sentiment.train --out var/sentiment/

Features: the MiniLM sentence vector of each message, optionally with VADER's four scores.
Cross-validation on the training data alone chooses whether to add VADER, the regularisation
strength C and the class weighting; the TweetEval test split and the airline tweets are never
looked at here (they are for `supportbot-lab bench-sentiment`). Everything is seeded: the same
data and encoder give the same head.json.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from supportbot.sentiment.base import LABELS
from supportbot.sentiment.features import VADER_FEATURES, featurise, normalise, vader_analyser
from supportbot.sentiment.head import HeadParameters, encoder_fingerprint, save_head
from supportbot.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "data" / "sentiment"
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")
MAX_ITER = 5000


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str  # the file it came from: folds are stratified by source and label


@dataclass(frozen=True)
class Config:
    use_vader: bool
    c: float
    class_weight: str | None

    def describe(self) -> dict[str, Any]:
        return {"vader": self.use_vader, "C": self.c, "class_weight": self.class_weight}


def read_examples(directory: Path = DATA_DIR) -> list[Example]:
    """Every `label<TAB>text` line of the *.tsv files in `directory`, in file-name order."""
    files = sorted(directory.glob("*.tsv"))
    if not files:
        raise FileNotFoundError(f"no training data (*.tsv) in {directory}")
    examples = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            label, sep, text = line.partition("\t")
            if not sep or label not in LABELS or not text.strip():
                raise ValueError(f"{path}:{number}: expected `negative|neutral|positive<TAB>text`")
            examples.append(Example(text=text, label=label, source=path.name))
    return examples


def data_fingerprint(directory: Path = DATA_DIR) -> dict[str, Any]:
    """SHA-256 and label counts of each training file, and one digest over all of them."""
    overall = hashlib.sha256()
    files = {}
    for path in sorted(directory.glob("*.tsv")):
        content = path.read_bytes()
        overall.update(path.name.encode() + b"\0" + content)
        counts = Counter(line.split(b"\t", 1)[0].decode() for line in content.splitlines() if line)
        files[path.name] = {"sha256": hashlib.sha256(content).hexdigest(), "labels": dict(counts)}
    return {"sha256": overall.hexdigest(), "files": files}


def _model(config: Config, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    # lbfgs on the full multinomial loss: a deterministic solver, so the seed is belt and braces.
    return LogisticRegression(
        C=config.c, class_weight=config.class_weight, max_iter=MAX_ITER, random_state=seed
    )


def _columns(features: np.ndarray, use_vader: bool) -> np.ndarray:
    return features if use_vader else features[:, : -len(VADER_FEATURES)]


def cross_validate(
    features: np.ndarray,
    labels: np.ndarray,
    strata: Sequence[str],
    configs: Sequence[Config],
    *,
    folds: int,
    seed: int,
    log: Callable[[str], None] = print,
) -> list[tuple[Config, float]]:
    """Mean macro-averaged recall (TweetEval's official metric) of each config over k folds."""
    from sklearn.metrics import recall_score
    from sklearn.model_selection import StratifiedKFold

    splits = list(
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, strata)
    )
    results = []
    for number, config in enumerate(configs, start=1):
        x = _columns(features, config.use_vader)
        scores = []
        for train, test in splits:
            model = _model(config, seed).fit(x[train], labels[train])
            scores.append(recall_score(labels[test], model.predict(x[test]), average="macro"))
        mean = float(np.mean(scores))
        results.append((config, mean))
        log(
            f"  [{number:2d}/{len(configs)}] vader={config.use_vader!s:5} C={config.c:<5g} "
            f"class_weight={config.class_weight!s:8}  CV macro recall {100 * mean:.2f}"
        )
    return results


def train_head(
    examples: Sequence[Example],
    encoder: Any,
    *,
    encoder_sha256: str,
    training_data: dict[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
    configs: Sequence[Config] | None = None,
    log: Callable[[str], None] = print,
) -> HeadParameters:
    """Encode the examples, pick a config by cross-validation, fit it on all of them."""
    started = time.perf_counter()
    configs = configs or [
        Config(use_vader, c, weight)
        for use_vader in (False, True)
        for c in C_GRID
        for weight in CLASS_WEIGHTS
    ]
    texts = [normalise(example.text) for example in examples]
    labels = np.array([LABELS.index(example.label) for example in examples])
    strata = [f"{example.source}:{example.label}" for example in examples]
    log(f"Encoding {len(texts)} messages with MiniLM (and scoring them with VADER)...")
    features = featurise(encoder, vader_analyser(), texts, use_vader=True)
    encoded = time.perf_counter()
    log(f"  done in {encoded - started:.1f} s")
    log(f"Cross-validating {len(configs)} configurations ({folds} folds, seed {seed})...")
    # One BLAS thread: these fits are small, and on a busy 2-core machine more threads made
    # them 25 times slower (measured); single-threaded sums are also the reproducible ones.
    with threadpool_limits(1), warnings.catch_warnings():
        # A fold that stops at max_iter is still a fair (slightly under-fitted) candidate.
        warnings.simplefilter("ignore", category=UserWarning)
        results = cross_validate(features, labels, strata, configs, folds=folds, seed=seed, log=log)
        # The first of equals wins: the grid lists simpler and more regularised configs first.
        best, best_score = max(results, key=lambda item: item[1])
        model = _model(best, seed).fit(_columns(features, best.use_vader), labels)
    elapsed = time.perf_counter() - started
    log(
        f"Best: vader={best.use_vader} C={best.c:g} class_weight={best.class_weight} "
        f"with CV macro recall {100 * best_score:.2f}; trained in {elapsed:.1f} s"
    )
    # No timings in the file: the same data and encoder must give a byte-identical head.json.
    return HeadParameters(
        weights=np.asarray(model.coef_, dtype=np.float64),
        bias=np.asarray(model.intercept_, dtype=np.float64),
        use_vader=best.use_vader,
        encoder_fingerprint=encoder_sha256,
        training_data=training_data or {},
        training={
            "examples": len(examples),
            "chosen": best.describe(),
            "cv_metric": "macro-averaged recall",
            "cv_folds": folds,
            "cv_score": round(best_score, 6),
            "cv_results": [
                {**config.describe(), "score": round(score, 6)} for config, score in results
            ],
            "seed": seed,
            "versions": {
                name: metadata.version(name) for name in ("scikit-learn", "vadersentiment")
            },
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.sentiment.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for head.json")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of *.tsv files")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from supportbot.encoder import get_sentence_encoder
    from supportbot.settings import get_settings

    def log(message: str) -> None:
        print(message, flush=True)

    examples = read_examples(args.data)
    counts = Counter(example.label for example in examples)
    log(
        f"== Training the sentiment head on {len(examples)} messages from {args.data} "
        f"({', '.join(f'{counts[label]} {label}' for label in LABELS)})"
    )
    encoder_dir = get_settings().encoder_dir
    parameters = train_head(
        examples,
        get_sentence_encoder(),
        encoder_sha256=encoder_fingerprint(encoder_dir),
        training_data=data_fingerprint(args.data),
        folds=args.folds,
        seed=args.seed,
        log=log,
    )
    log(f"Wrote {save_head(parameters, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
