"""bench-nlu: loaders on the real files, metrics on hand-made predictions, and a CI-sized run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lab.nlu_bench import datasets, metrics
from supportbot.settings import PROJECT_ROOT

needs_data = pytest.mark.skipif(
    not (datasets.datasets_dir() / "banking77").exists(),
    reason=f"public datasets not found in {datasets.datasets_dir()}",
)

# Rasa 3.6's inline entity syntax (rasa.shared.nlu.training_data.entities_parser).
_ENTITY = re.compile(
    r"\[(?P<text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\})"
)


def _parse_annotated(text: str) -> tuple[str, list[tuple[int, int, str, str]]]:
    plain, spans, at = "", [], 0
    for match in _ENTITY.finditer(text):
        plain += text[at : match.start()]
        start = len(plain)
        plain += match["text"]
        if match["dict"]:
            data = yaml.safe_load("{" + match["dict"] + "}")
            entity, value = data["entity"], data["value"]
        else:
            entity, value = match["entity"], match["value"] or match["text"]
        spans.append((start, len(plain), entity, value))
        at = match.end()
    return plain + text[at:], spans


@needs_data
@pytest.mark.parametrize(
    ("name", "train", "test", "intents"),
    [
        ("banking77", 10_003, 3_080, 77),
        ("hwu64", 9_960, 1_076, 64),
        ("hwu64_dev", 8_884, 1_076, 64),
        ("hwu64_dev_small", 100, 1_076, 64),
        ("clinc150", 15_100, 5_500, 151),
        ("clinc150_val", 15_100, 3_100, 151),
        ("bitext", 6_453, 810, 27),
        ("braun_askubuntu", 53, 109, 5),
        ("braun_chatbot", 100, 106, 2),
        ("braun_webapps", 30, 59, 8),
        ("bitext_quick", 200, 80, 8),
    ],
)
def test_loader_counts(name: str, train: int, test: int, intents: int) -> None:
    split = datasets.load(name)
    assert (len(split.train), len(split.test), len(split.intents)) == (train, test, intents)
    assert all(u.text and " " not in u.intent for u in split.train + split.test)


@needs_data
def test_hwu64_entities_round_trip_through_rasa_yaml() -> None:
    split = datasets.load("hwu64")
    with_entities = [u for u in split.test if u.entities]
    assert len(with_entities) > 500
    document = yaml.safe_load(datasets.to_rasa_yaml(split.test))
    examples = [
        line[2:]
        for block in document["nlu"]
        for line in block["examples"].splitlines()
        if line.startswith("- ")
    ]
    assert len(examples) == len(split.test)
    by_text = {datasets.annotated(u): u for u in split.test}
    for example in examples:
        utterance = by_text[example]
        text, spans = _parse_annotated(example)
        assert text == utterance.text.translate(datasets._ANNOTATION_CHARS)
        assert spans == [(s.start, s.end, s.entity, s.value) for s in utterance.entities]


@needs_data
def test_braun_entity_token_indices_become_character_spans() -> None:
    split = datasets.load("braun_askubuntu")
    upgrade = next(u for u in split.test if u.text == "Upgrading from 11.10 to 12.04")
    assert [(upgrade.text[s.start : s.end], s.entity) for s in upgrade.entities] == [
        ("11.10", "UbuntuVersion"),
        ("12.04", "UbuntuVersion"),
    ]


def test_annotation_characters_in_text_are_neutralised() -> None:
    utterance = datasets.Utterance(
        "order [12] {x}", "track", (datasets.Span(6, 10, "order_id", "12"),)
    )
    assert datasets.annotated(utterance) == 'order [(12)]{"entity": "order_id", "value": "12"} (x)'


def test_intent_metrics_count_fallback_as_wrong() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", metrics.FALLBACK]
    scores = metrics.intent_scores(gold, predicted)
    assert scores["accuracy"] == pytest.approx(0.5)
    # a: P 1, R 1/2 -> F1 2/3; b: P 1/2, R 1/2 -> F1 1/2.
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_entity_f1_is_exact_type_and_value() -> None:
    gold = [
        [{"entity": "date", "value": "Today"}, {"entity": "time", "value": "9 am"}],
        [{"entity": "place", "value": "paris"}],
    ]
    predicted = [
        [{"entity": "date", "value": "today"}, {"entity": "time", "value": "9"}],
        [{"entity": "person", "value": "paris"}],
    ]
    scores = metrics.entity_f1(gold, predicted)
    assert scores["entity_precision"] == pytest.approx(1 / 3)
    assert scores["entity_recall"] == pytest.approx(1 / 3)
    assert scores["entity_f1"] == pytest.approx(1 / 3)


def test_overlap_entity_f1_counts_a_split_or_shifted_span_of_the_right_type_once() -> None:
    def span(entity: str, start: int, end: int) -> dict[str, object]:
        return {"entity": entity, "start": start, "end": end, "value": "-"}

    # "wake me at eight forty five am": gold time 11-30; predicted as two pieces, plus a
    # wrong-type entity elsewhere and one that overlaps nothing.
    gold = [[span("time", 11, 30), span("alarm_type", 0, 4)]]
    predicted = [[span("time", 11, 23), span("time", 24, 30), span("date", 0, 4)]]
    scores = metrics.entity_overlap_f1(gold, predicted)
    precision, recall = 1 / 3, 1 / 2  # one gold entity can be matched only once
    assert scores["entity_f1_overlap"] == pytest.approx(
        2 * precision * recall / (precision + recall)
    )


def test_oos_scores() -> None:
    gold = ["x", "y", "oos", "oos", "oos", "oos"]
    predicted = ["x", "oos", "oos", metrics.FALLBACK, "x", "y"]
    scores = metrics.oos_scores(gold, predicted, "oos")
    assert scores == {"in_scope_accuracy": 0.5, "oos_recall": 0.5}


def test_a_fallback_on_an_out_of_scope_message_is_no_mistake() -> None:
    cases = [{"intent": i, "entities": []} for i in ["x", "x", "oos", "oos"]]
    predictions = [
        {"intent": p, "entities": [], "ms": 1.0}
        for p in ["x", metrics.FALLBACK, metrics.FALLBACK, "x"]
    ]
    scores = metrics.score(cases, predictions, has_entities=False, oos="oos")
    assert scores["accuracy"] == 0.5  # the in-scope fallback and the missed oos are wrong
    assert scores["fallback_rate"] == 0.5
    assert scores["confused"] == [("x", metrics.FALLBACK, 1), ("oos", "x", 1)]
    assert (scores["in_scope_accuracy"], scores["oos_recall"]) == (0.5, 0.5)


def _replayable(intent: str, top: str, confidence: float) -> dict[str, object]:
    return {"intent": intent, "top_intent": top, "top_confidence": confidence}


def test_fallback_thresholds_are_replayed_from_the_top_confidence() -> None:
    gold = ["x", "y", "oos", "oos"]
    predictions = [
        _replayable("x", "x", 0.9),
        _replayable(metrics.FALLBACK, "y", 0.15),  # fell back at the cell's own threshold
        _replayable("x", "x", 0.25),
        _replayable(metrics.FALLBACK, "y", 0.1),
    ]
    sweep = metrics.fallback_sweep(gold, predictions, "oos", thresholds=(0.0, 0.2, 0.3, 0.95))
    assert [(r["threshold"], r["in_scope_accuracy"], r["oos_recall"]) for r in sweep] == [
        (0.0, 1.0, 0.0),  # no fallback: "y" is right again, both oos are missed
        (0.2, 0.5, 0.5),
        (0.3, 0.5, 1.0),
        (0.95, 0.0, 1.0),
    ]


def _sweep(*rows: tuple[float, float, float | None]) -> list[dict[str, float | None]]:
    return [{"threshold": t, "in_scope_accuracy": a, "oos_recall": r} for t, a, r in rows]


def test_the_chosen_threshold_costs_at_most_half_a_point_on_every_tuning_set() -> None:
    with_oos = _sweep((0.0, 0.960, 0.30), (0.1, 0.958, 0.50), (0.2, 0.956, 0.60), (0.3, 0.953, 0.8))
    in_scope_only = _sweep(
        (0.0, 0.930, None), (0.1, 0.929, None), (0.2, 0.920, None), (0.3, 0.910, None)
    )
    assert metrics.choose_threshold([with_oos]) == 0.2  # 0.3 costs 0.7 point
    assert metrics.choose_threshold([with_oos], max_in_scope_loss=0.01) == 0.3
    # 0.2 costs a point where nothing is out of scope: vetoed there.
    assert metrics.choose_threshold([with_oos, in_scope_only]) == 0.1
    # On a tie the lower threshold wins: it falls back on fewer customers.
    assert metrics.choose_threshold([in_scope_only]) == 0.0


def test_a_set_without_out_of_scope_queries_has_an_in_scope_sweep() -> None:
    cases = [{"intent": "x", "entities": []}] * 2
    predictions = [
        {**_replayable("x", "x", 0.9), "entities": [], "ms": 1.0},
        {**_replayable("x", "x", 0.3), "entities": [], "ms": 1.0},
    ]
    scores = metrics.score(cases, predictions, has_entities=False)
    by_threshold = {r["threshold"]: r for r in scores["fallback_sweep"]}
    assert by_threshold[0.3] == {"threshold": 0.3, "in_scope_accuracy": 1.0, "oos_recall": None}
    assert by_threshold[0.35]["in_scope_accuracy"] == 0.5
    assert "oos_recall" not in scores


def test_an_out_of_scope_cell_keeps_its_sweep() -> None:
    cases = [{"intent": i, "entities": []} for i in ["x", "oos"]]
    predictions = [
        {**_replayable("x", "x", 0.9), "entities": [], "ms": 1.0},
        {**_replayable("x", "x", 0.3), "entities": [], "ms": 1.0},
    ]
    scores = metrics.score(cases, predictions, has_entities=False, oos="oos")
    by_threshold = {r["threshold"]: r["oos_recall"] for r in scores["fallback_sweep"]}
    assert (by_threshold[0.3], by_threshold[0.35]) == (0.0, 1.0)


def test_score_collects_confusions_and_latency() -> None:
    cases = [{"intent": i, "entities": []} for i in ["a", "a", "a", "b"]]
    predictions = [
        {"intent": p, "top_intent": p, "entities": [], "ms": ms}
        for p, ms in [("b", 1.0), ("b", 2.0), ("a", 3.0), ("b", 4.0)]
    ]
    result = metrics.score(cases, predictions, has_entities=False)
    assert result["confused"] == [("a", "b", 2)]
    assert result["p50_ms"] == pytest.approx(2.5)
    assert result["accuracy"] == pytest.approx(0.5)


RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
ENCODER = PROJECT_ROOT / "var" / "encoder" / "model.onnx"


@pytest.mark.bench
@pytest.mark.integration
@needs_data
@pytest.mark.skipif(not RASA.exists(), reason=f"{RASA} missing: run `make setup`")
@pytest.mark.skipif(not ENCODER.exists(), reason=f"{ENCODER} missing: run `make setup`")
def test_quick_benchmark_project_beats_stock(tmp_path: Path) -> None:
    from lab.nlu_bench.run import run

    outcome = run(
        quick=True,
        results_dir=tmp_path / "results",
        work_dir=tmp_path / "work",
        report_path=tmp_path / "nlu.md",
    )
    assert not outcome.failed, outcome.failed
    by_pipeline = {r["pipeline"]: r for r in outcome.results}
    # A comparison, not a timing: the same split; 40 DIET epochs for the stock pipeline, 40 or
    # more (min_steps) for the project's entity-only DIET, whose intents come from a regression.
    assert by_pipeline["project"]["accuracy"] > by_pipeline["stock"]["accuracy"]
    report = (tmp_path / "nlu.md").read_text()
    assert "| stock |" in report and "| **project** |" in report
