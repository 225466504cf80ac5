"""EntityOverlapResolver: one entity per span when DIET and the regexes both found it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from assistant.nlu.entity_resolver import EntityOverlapResolver, resolve

REGEX, DIET = "RegexEntityExtractor", "DIETEntityExtractor"


def entity(start: int, end: int, name: str, extractor: str) -> dict:
    return {"start": start, "end": end, "entity": name, "value": "x", "extractor": extractor}


def test_the_preferred_extractor_wins_an_overlap_and_the_rest_stays() -> None:
    # "email lena.weber@example.org about order 100004"
    diet_email = entity(6, 16, "person_name", DIET)  # DIET saw a name in "lena.weber"
    regex_email = entity(6, 28, "email", REGEX)
    diet_order = entity(41, 47, "order_id", DIET)
    regex_order = entity(41, 47, "order_id", REGEX)
    diet_city = entity(0, 5, "delivery_city", DIET)  # overlaps nothing: kept

    kept = resolve([diet_email, diet_order, diet_city, regex_order, regex_email], [REGEX])

    assert kept == [diet_city, regex_email, regex_order]


def test_entities_of_equal_rank_are_not_resolved_against_each_other() -> None:
    a, b = entity(0, 5, "date", DIET), entity(3, 9, "time", DIET)
    assert resolve([a, b], [REGEX]) == [a, b]


def test_the_component_rewrites_the_message_entities(tmp_path: Path) -> None:
    context = ExecutionContext(GraphSchema({}), node_name="resolver")
    resolver = EntityOverlapResolver.create(
        EntityOverlapResolver.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("resolver"),
        context,
    )
    message = Message(data={TEXT: "order 100004"})
    duplicate = [entity(6, 12, "order_id", DIET), entity(6, 12, "order_id", REGEX)]
    message.set(ENTITIES, duplicate, add_to_output=True)

    [processed] = resolver.process([message])

    assert [e["extractor"] for e in processed.get(ENTITIES)] == [REGEX]


def test_a_bad_preference_list_is_refused() -> None:
    with pytest.raises(ValueError, match="`prefer` must be a list"):
        EntityOverlapResolver({"prefer": "RegexEntityExtractor"})
