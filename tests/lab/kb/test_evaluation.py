"""The evaluation sets, the threshold calibration and the benchmark pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.kb.evaluation import (
    DEV_SET,
    HELDOUT_SET,
    EvalQuestion,
    calibrate,
    evaluate,
    load_eval_set,
)
from supportbot.kb.retrieval import DEFAULT_SCORING, THRESHOLD_FILE
from supportbot.kb.seed import read_articles

IN = EvalQuestion("q", frozenset({"a"}))
OUT = EvalQuestion("unrelated", frozenset())


def test_calibration_maximises_coverage_at_the_precision():
    questions = [IN] * 19 + [OUT, IN, OUT]
    rankings = [[("a", 0.9 - i * 0.01)] for i in range(19)]
    rankings += [[("a", 0.65)], [("a", 0.6)], [("a", 0.5)]]
    fitted = calibrate(questions, rankings, min_precision=0.95)
    # Answering down to 0.6 gives 20/21 right (95.2%); going lower adds a second error.
    assert fitted.answered == 21 and fitted.precision == pytest.approx(20 / 21)
    assert 0.5 < fitted.threshold < 0.6
    metrics = evaluate(questions, rankings, fitted.threshold)
    assert metrics.coverage == pytest.approx(21 / 22)
    assert metrics.unrelated_rejected == pytest.approx(0.5)


def test_calibration_answers_nothing_when_no_threshold_is_precise_enough():
    fitted = calibrate([OUT, OUT], [[("a", 0.9)], [("a", 0.8)]])
    assert fitted.answered == 0 and fitted.threshold > 0.9


def test_wrong_articles_count_against_precision_and_top1():
    questions = [IN, IN]
    rankings = [[("b", 0.9), ("a", 0.8)], [("a", 0.7)]]
    metrics = evaluate(questions, rankings, threshold=0.5)
    assert metrics.top1 == 0.5 and metrics.top3 == 1.0 and metrics.precision == 0.5


def test_the_evaluation_sets_are_separate_and_point_at_real_articles():
    slugs = {article.slug for article in read_articles()}
    dev, heldout = load_eval_set(DEV_SET), load_eval_set(HELDOUT_SET)
    assert sum(q.in_scope for q in dev) >= 110 and sum(not q.in_scope for q in dev) >= 25
    assert sum(q.in_scope for q in heldout) >= 140 and sum(not q.in_scope for q in heldout) >= 35
    for question in dev + heldout:
        assert question.accepted <= slugs, question.text
    texts = lambda qs: {q.text.lower().strip() for q in qs}  # noqa: E731
    assert not texts(dev) & texts(heldout)
    article_questions = {q.lower().strip(" ?") for a in read_articles() for q in a.questions}
    assert not {t.strip(" ?") for t in texts(dev) | texts(heldout)} & article_questions


def test_the_stored_threshold_matches_the_scoring():
    stored = json.loads(THRESHOLD_FILE.read_text())
    assert stored["scoring"] == DEFAULT_SCORING.as_dict()
    assert stored["dev"]["precision"] >= stored["min_precision"]


@pytest.mark.bench
def test_the_benchmark_runs_end_to_end(tmp_path: Path, capsys):
    from lab.kb.benchmark import run
    from tests.supportbot.kb.conftest import HashingEncoder

    out = tmp_path / "retrieval.md"
    run(
        out=out,
        scale_articles=300,
        crossover_articles=(100,),
        encoder=HashingEncoder(),
    )
    report = out.read_text()
    assert "| TF-IDF word 1-2-grams, cosine |" in report
    assert "faiss HNSW" in report and "faiss IVF" in report and "Targets" in report
    assert "wrote" in capsys.readouterr().out
