"""The two NLU pipelines compared: Rasa 3.6's stock default and the project's config.yml."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from supportbot.settings import PROJECT_ROOT

PIPELINES = ("stock", "project")

# The pipeline `rasa init` writes (rasa/cli/initial_project/config.yml of 3.6.21), which is also
# what Rasa falls back to when a config has no pipeline.
STOCK_PIPELINE: list[dict[str, Any]] = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100},
    {"name": "EntitySynonymMapper"},
    {"name": "ResponseSelector", "epochs": 100},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]
ENTITY_DIET = "assistant.nlu.entity_extractor.DIETEntityExtractor"
_DIET = ("DIETClassifier", ENTITY_DIET)
# Components whose `epochs` an override or cap replaces.
_TRAINED = (*_DIET, "ResponseSelector")


def project_pipeline(config_path: Path | None = None) -> list[dict[str, Any]]:
    """The NLU part of the project's config.yml."""
    path = config_path or PROJECT_ROOT / "config.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(config["pipeline"])


def pipeline(name: str, config_path: Path | None = None) -> list[dict[str, Any]]:
    if name == "stock":
        return copy.deepcopy(STOCK_PIPELINE)
    if name == "project":
        return project_pipeline(config_path)
    raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}")


def diet_epochs(components: list[dict[str, Any]]) -> int | None:
    """DIET's epochs as configured (Rasa's default is 300); None without DIET."""
    for component in components:
        if component["name"] in _DIET:
            return int(component.get("epochs", 300))
    return None


def for_dataset(components: list[dict[str, Any]], has_entities: bool) -> list[dict[str, Any]]:
    """The pipeline as trained on a dataset: without entities, an entity-only DIET has nothing
    to learn (and Rasa 3.6 fails on it), so it is left out."""
    if has_entities:
        return components
    return [
        c
        for c in components
        if not (
            c["name"] == ENTITY_DIET
            or (c["name"] == "DIETClassifier" and c.get("intent_classification") is False)
        )
    ]


def with_epochs(components: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    """A copy with `epochs` for every trained component (DIET, ResponseSelector)."""
    changed = copy.deepcopy(components)
    for component in changed:
        if component["name"] in _TRAINED:
            component["epochs"] = epochs
    return changed


def config_yaml(components: list[dict[str, Any]]) -> str:
    """A complete NLU-only Rasa config."""
    config = {
        "recipe": "default.v1",
        "assistant_id": "nlu_bench",
        "language": "en",
        "pipeline": components,
        "policies": [],
    }
    return yaml.safe_dump(config, sort_keys=False)
