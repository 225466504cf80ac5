"""Which pipeline each benchmark cell trains: entity-only DIET, epoch caps."""

from __future__ import annotations

from pathlib import Path

from lab.nlu_bench import pipelines
from lab.nlu_bench.cells import Cell, Options, plan_epochs


def names(components: list[dict[str, object]]) -> list[object]:
    return [c["name"] for c in components]


def test_the_project_pipeline_classifies_intents_without_diet() -> None:
    project = pipelines.pipeline("project")
    assert "DIETClassifier" not in names(project)
    assert pipelines.ENTITY_DIET in names(project)  # DIET for entities only
    assert "assistant.nlu.sentence_classifier.SentenceIntentClassifier" in names(project)


def test_entity_only_diet_is_left_out_where_there_are_no_entities() -> None:
    project = pipelines.pipeline("project")
    assert pipelines.ENTITY_DIET not in names(pipelines.for_dataset(project, has_entities=False))
    assert pipelines.for_dataset(project, has_entities=True) == project
    # Rasa's own DIET with intents switched off is entity-only too.
    entity_only = [{"name": "DIETClassifier", "intent_classification": False}]
    assert pipelines.for_dataset(entity_only, has_entities=False) == []
    # The stock DIET classifies intents too: it always stays.
    stock = pipelines.pipeline("stock")
    assert pipelines.for_dataset(stock, has_entities=False) == stock


def test_epochs_planned_per_cell(tmp_path: Path) -> None:
    options = Options(results_dir=tmp_path, work_dir=tmp_path)
    components, epochs, cap = plan_epochs(Cell("banking77", "project"), options, False)
    assert (epochs, cap) == (None, None) and "DIETClassifier" not in names(components)
    _, epochs, cap = plan_epochs(Cell("banking77", "stock"), options, False)
    assert (epochs, cap) == (5, 5)  # the stock pipeline's cap on large sets
    _, epochs, cap = plan_epochs(Cell("bitext", "project"), options, True)
    assert (epochs, cap) == (40, None)
    _, epochs, _ = plan_epochs(Cell("bitext", "project", quick=True), options, True)
    assert epochs == 40
