"""One entity per span when two extractors found overlapping ones.

The bot reads structured ids (order and invoice numbers, emails, amounts) with Rasa's
RegexEntityExtractor, which cannot miss a well-formed one, and everything else with DIET. DIET
also learns the ids from the annotated examples, so the same span would be reported twice, once
by each. This component keeps the entity of the preferred extractor and drops any other entity
whose characters overlap it. Put it after the extractors and before EntitySynonymMapper:

    pipeline:
      - name: assistant.nlu.entity_extractor.DIETEntityExtractor
      - name: RegexEntityExtractor
      - name: assistant.nlu.entity_resolver.EntityOverlapResolver
        prefer: [RegexEntityExtractor]
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    EXTRACTOR,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def resolve(entities: list[dict[str, Any]], prefer: list[str]) -> list[dict[str, Any]]:
    """The entities without those that overlap an entity of a more preferred extractor."""

    def rank(entity: dict[str, Any]) -> int:
        extractor = entity.get(EXTRACTOR)
        return prefer.index(extractor) if extractor in prefer else len(prefer)

    kept: list[dict[str, Any]] = []
    # Most preferred first, so that a kept entity is never displaced by a later one.
    for entity in sorted(entities, key=rank):
        start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
        clash = start is not None and any(
            rank(other) < rank(entity)
            and other[ENTITY_ATTRIBUTE_START] < end
            and start < other[ENTITY_ATTRIBUTE_END]
            for other in kept
            if other.get(ENTITY_ATTRIBUTE_START) is not None
        )
        if not clash:
            kept.append(entity)
    return sorted(kept, key=lambda e: (e.get(ENTITY_ATTRIBUTE_START) or 0, rank(e)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityOverlapResolver(GraphComponent):
    """Drops entities that overlap one found by a preferred extractor."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"prefer": ["RegexEntityExtractor"]}

    def __init__(self, config: dict[str, Any]) -> None:
        prefer = config.get("prefer")
        if not isinstance(prefer, list) or not all(isinstance(p, str) for p in prefer):
            raise ValueError("EntityOverlapResolver: `prefer` must be a list of extractor names")
        self._prefer = list(prefer)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityOverlapResolver:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, resolve(entities, self._prefer), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # the annotations are the truth: nothing to resolve
