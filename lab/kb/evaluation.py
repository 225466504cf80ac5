"""Evaluating retrieval on the hand-written sets in data/kb/eval/: accuracy, threshold, coverage.

A question is answered when its best score reaches the threshold. An answer is correct when the
best article is the expected one (or an equivalent, see equivalents.yml); answering an unrelated
question is always wrong. The threshold maximises coverage subject to precision >= 0.95.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from supportbot.kb.seed import KB_DIR

EVAL_DIR = KB_DIR / "eval"
DEV_SET = EVAL_DIR / "dev.yml"
HELDOUT_SET = EVAL_DIR / "heldout.yml"
EQUIVALENTS = EVAL_DIR / "equivalents.yml"
MIN_PRECISION = 0.95

# A retriever: question -> [(slug, score)], best first.
Ranking = list[tuple[str, float]]


@dataclass(frozen=True)
class EvalQuestion:
    text: str
    accepted: frozenset[str]  # empty: unrelated, nothing should answer it

    @property
    def in_scope(self) -> bool:
        return bool(self.accepted)


def load_eval_set(path: Path, equivalents: Path = EQUIVALENTS) -> list[EvalQuestion]:
    same: dict[str, list[str]] = (yaml.safe_load(equivalents.read_text()) or {}).get(
        "equivalents", {}
    )
    questions = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
        slug = entry.get("slug")
        accepted = frozenset([slug, *same.get(slug, [])]) if slug else frozenset()
        questions.append(EvalQuestion(str(entry["text"]), accepted))
    return questions


@dataclass(frozen=True)
class Calibration:
    threshold: float
    coverage: float  # answered / all questions
    precision: float  # correct / answered
    answered: int
    total: int


@dataclass(frozen=True)
class Metrics:
    top1: float  # in-scope questions whose best article is right
    top3: float  # in-scope questions with the right article among the first three
    coverage: float  # all questions answered at the threshold
    precision: float  # of those answered, the share answered correctly
    in_scope_answered_correctly: float
    unrelated_rejected: float
    in_scope: int
    unrelated: int


def rank_all(
    retrieve: Callable[[str], Ranking], questions: Sequence[EvalQuestion]
) -> list[Ranking]:
    return [retrieve(question.text) for question in questions]


def _top(ranking: Ranking) -> tuple[str | None, float]:
    return (ranking[0][0], ranking[0][1]) if ranking else (None, float("-inf"))


def calibrate(
    questions: Sequence[EvalQuestion],
    rankings: Sequence[Ranking],
    min_precision: float = MIN_PRECISION,
) -> Calibration:
    """The threshold answering the most questions with precision >= min_precision.

    It lies halfway between the lowest answered score and the next score below it, so it does
    not sit exactly on one dev question.
    """
    scored = sorted(
        ((_top(r)[1], _top(r)[0] in q.accepted) for q, r in zip(questions, rankings, strict=True)),
        key=lambda pair: -pair[0],
    )
    total = len(scored)
    best: tuple[int, float, float] | None = None  # (answered, precision, threshold)
    correct = 0
    for answered, (score, ok) in enumerate(scored, start=1):
        correct += ok
        if answered < total and scored[answered][0] == score:
            continue  # ties are answered together
        precision = correct / answered
        if precision >= min_precision:
            below = scored[answered][0] if answered < total else score - 0.05
            best = (answered, precision, (score + below) / 2)
    if best is None:
        # Nothing reaches the precision: answer nothing.
        top = scored[0][0] if scored else 1.0
        return Calibration(top + 0.01, 0.0, 1.0, 0, total)
    answered, precision, threshold = best
    return Calibration(threshold, answered / total, precision, answered, total)


def evaluate(
    questions: Sequence[EvalQuestion], rankings: Sequence[Ranking], threshold: float
) -> Metrics:
    in_scope = [(q, r) for q, r in zip(questions, rankings, strict=True) if q.in_scope]
    unrelated = [(q, r) for q, r in zip(questions, rankings, strict=True) if not q.in_scope]
    top1 = sum(_top(r)[0] in q.accepted for q, r in in_scope)
    top3 = sum(any(slug in q.accepted for slug, _ in r[:3]) for q, r in in_scope)
    answered = [(q, r) for q, r in zip(questions, rankings, strict=True) if _top(r)[1] >= threshold]
    correct = sum(_top(r)[0] in q.accepted for q, r in answered)
    rejected = sum(_top(r)[1] < threshold for _, r in unrelated)
    return Metrics(
        top1=top1 / max(len(in_scope), 1),
        top3=top3 / max(len(in_scope), 1),
        coverage=len(answered) / max(len(questions), 1),
        precision=correct / len(answered) if answered else 1.0,
        in_scope_answered_correctly=correct / max(len(in_scope), 1),
        unrelated_rejected=rejected / max(len(unrelated), 1),
        in_scope=len(in_scope),
        unrelated=len(unrelated),
    )


@contextmanager
def seeded_database() -> Iterator[str]:
    """A temporary SQLite CRM, migrated, holding the articles of data/kb: its URL."""
    from supportbot.crm.db import get_engine, session_scope
    from supportbot.kb.seed import seed_articles
    from supportbot.store import migrate

    with tempfile.TemporaryDirectory(prefix="supportbot-kb-") as directory:
        url = f"sqlite:///{Path(directory) / 'kb.db'}"
        migrate(url)
        with session_scope(url) as session:
            seed_articles(session)
        try:
            yield url
        finally:
            get_engine(url).dispose()
