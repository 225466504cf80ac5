"""`supportbot-lab bench-sentiment`: the sentiment model next to VADER and published results.

Scores both models in one run on the TweetEval sentiment test split (official metric: macro-
averaged recall) and on the US airline tweets, measures per-message latency, and checks the
targets: beat VADER by 5+ points on both sets, p95 latency <= 15 ms. The full run also writes
the tables to reports/sentiment.md.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from lab.datasets.sentiment import (
    LabelledTexts,
    PublishedResult,
    load_airline,
    load_tweeteval,
    load_tweeteval_published,
    load_tweeteval_reference_predictions,
)
from lab.latency import p50_p95
from supportbot.sentiment.base import LABELS, SentimentModel
from supportbot.settings import PROJECT_ROOT

REPORT = PROJECT_ROOT / "reports" / "sentiment.md"
TARGET_MARGIN = 5.0  # points over VADER
TARGET_P95_MS = 15.0
LATENCY_MESSAGES = 300
WARM_UP = 20
CHUNK = 512
SCORER_CHECK = 72.86  # RoB-RT's macro recall on the test split, per SOURCE.md

Log = Callable[[str], None]


@dataclass(frozen=True)
class Scores:
    """x100, like the published tables."""

    macro_recall: float
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    messages: int


@dataclass(frozen=True)
class ModelResult:
    name: str
    tweeteval: Scores
    airline: Scores
    latency: Latency


def score(gold: Sequence[str], predicted: Sequence[str]) -> Scores:
    """TweetEval's evaluation script: sklearn's macro-averaged recall over the three classes."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    labels = list(LABELS)
    return Scores(
        macro_recall=100 * float(recall_score(gold, predicted, labels=labels, average="macro")),
        accuracy=100 * float(accuracy_score(gold, predicted)),
        macro_f1=100 * float(f1_score(gold, predicted, labels=labels, average="macro")),
    )


def predict(model: SentimentModel, data: LabelledTexts, log: Log) -> list[str]:
    """Labels for every text, in chunks, with progress (counts only: no text is logged)."""
    started = time.perf_counter()
    labels: list[str] = []
    for start in range(0, len(data.texts), CHUNK):
        labels.extend(s.label for s in model.analyse(data.texts[start : start + CHUNK]))
        log(
            f"  {model.name}: {len(labels):>6,}/{len(data.texts):,} of {data.name} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return labels


def measure_latency(model: SentimentModel, texts: Sequence[str]) -> Latency:
    """Per-message latency: one message per call, as the action server calls it."""
    for text in texts[:WARM_UP]:
        model.analyse([text])
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.analyse([text])
        timings.append(1000 * (time.perf_counter() - started))
    return Latency(*p50_p95(timings), len(timings))


def run_benchmark(
    limit: int | None = None, report: Path | None = None, *, log: Log = print
) -> tuple[str, bool]:
    """Run everything; return the report (markdown) and whether the scorer check passed."""
    from supportbot.sentiment import VaderSentiment, load_sentiment_model

    tweeteval = load_tweeteval("test").head(limit)
    airline = load_airline().head(limit)
    published = load_tweeteval_published()
    reference = score(
        tweeteval.labels, load_tweeteval_reference_predictions()[: len(tweeteval.texts)]
    )
    scorer_ok = limit is not None or round(reference.macro_recall, 2) == SCORER_CHECK
    log(f"Scorer check: RoB-RT predictions give macro recall {reference.macro_recall:.2f}")

    log("Loading the project's sentiment model and VADER...")
    models: list[SentimentModel] = [load_sentiment_model(), VaderSentiment()]
    count = LATENCY_MESSAGES if limit is None else min(LATENCY_MESSAGES, max(limit, WARM_UP))
    latency_texts = tweeteval.texts[: count // 2] + airline.texts[: count - count // 2]
    results = []
    for model in models:
        log(f"== {model.name}")
        tweet_scores = score(tweeteval.labels, predict(model, tweeteval, log))
        airline_scores = score(airline.labels, predict(model, airline, log))
        log(f"  measuring latency over {len(latency_texts)} single messages...")
        results.append(
            ModelResult(
                model.name, tweet_scores, airline_scores, measure_latency(model, latency_texts)
            )
        )
    text = format_report(
        results,
        reference,
        published,
        tweeteval,
        airline,
        models[0],
        limit=limit,
        scorer_ok=scorer_ok,
    )
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
        log(f"Wrote {report}")
    return text, scorer_ok


def _model_description(model: SentimentModel) -> str:
    from supportbot.sentiment.head import HeadSentiment

    if not isinstance(model, HeadSentiment):
        return f"`{model.name}` (SENTIMENT_MODEL)"
    training = model.parameters.training
    chosen = training.get("chosen", {})
    features = "MiniLM sentence vector" + (
        " + VADER's 4 scores" if model.parameters.use_vader else ""
    )
    return (
        f"`{model.name}`: {features} -> multinomial logistic regression "
        f"(C={chosen.get('C')}, class_weight={chosen.get('class_weight')}), trained at setup on "
        f"{training.get('examples')} messages of data/sentiment/ (TweetEval val + support.tsv); "
        f"{training.get('cv_folds')}-fold CV macro recall {100 * training.get('cv_score', 0):.2f} "
        "on that training data (seeded; no test or airline tweet is trained or tuned on)"
    )


def format_report(
    results: Sequence[ModelResult],
    reference: Scores,
    published: Sequence[PublishedResult],
    tweeteval: LabelledTexts,
    airline: LabelledTexts,
    project_model: SentimentModel,
    *,
    limit: int | None,
    scorer_ok: bool,
) -> str:
    project, vader = results[0], results[1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Sentiment benchmark",
        "",
        f"`supportbot-lab bench-sentiment`{f' --limit {limit}' if limit else ''}, run "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}, 1-minute load average {load:.1f} at the "
        f"end), vaderSentiment {metadata.version('vadersentiment')}.",
        "",
        f"- Project model: {_model_description(project_model)}.",
        "- VADER: compound >= 0.05 positive, <= -0.05 negative, else neutral.",
        "",
        f"## {tweeteval.name} ({len(tweeteval.texts):,} tweets)",
        "",
        "| system | macro recall (official) | accuracy | macro-F1 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for result in results:
        s = result.tweeteval
        lines.append(
            f"| {result.name} (measured) | {s.macro_recall:.2f} | {s.accuracy:.2f} | "
            f"{s.macro_f1:.2f} |"
        )
    lines.append(
        f"| RoB-RT predictions shipped with TweetEval (scorer check, must be {SCORER_CHECK}) | "
        f"{reference.macro_recall:.2f} | {reference.accuracy:.2f} | {reference.macro_f1:.2f} |"
    )
    for row in published:
        lines.append(f"| {row.system} (published: {row.reference}) | {row.macro_recall:.1f} | | |")
    lines += [
        "",
        f"## {airline.name} ({len(airline.texts):,} unique tweets, all of them: evaluation only)",
        "",
        "| system | accuracy | macro-F1 | macro recall |",
        "| --- | ---: | ---: | ---: |",
    ]
    for result in results:
        s = result.airline
        lines.append(
            f"| {result.name} | {s.accuracy:.2f} | {s.macro_f1:.2f} | {s.macro_recall:.2f} |"
        )
    latency_count = results[0].latency.messages
    lines += [
        "",
        f"## Latency per message ({latency_count} tweets, one per call, after {WARM_UP} warm-up "
        "calls)",
        "",
        "| system | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.latency.p50_ms:.2f} | {result.latency.p95_ms:.2f} |"
        )
    checks = [
        (
            f"TweetEval macro recall >= VADER + {TARGET_MARGIN:g}",
            project.tweeteval.macro_recall - vader.tweeteval.macro_recall,
        ),
        (
            f"airline accuracy >= VADER + {TARGET_MARGIN:g}",
            project.airline.accuracy - vader.airline.accuracy,
        ),
        (
            f"airline macro-F1 >= VADER + {TARGET_MARGIN:g}",
            project.airline.macro_f1 - vader.airline.macro_f1,
        ),
    ]
    lines += ["", "## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
    for target, margin in checks:
        lines.append(
            f"| {target} | {margin:+.2f} points | {'yes' if margin >= TARGET_MARGIN else 'NO'} |"
        )
    p95 = project.latency.p95_ms
    lines.append(
        f"| p95 latency <= {TARGET_P95_MS:g} ms | {p95:.2f} ms | "
        f"{'yes' if p95 <= TARGET_P95_MS else 'NO'} |"
    )
    if not scorer_ok:
        lines += ["", f"**Scorer check failed**: RoB-RT gives {reference.macro_recall:.2f}."]
    if limit:
        lines += [
            "",
            f"Quick run on the first {limit} examples of each set: not the documented result.",
        ]
    return "\n".join(lines) + "\n"
