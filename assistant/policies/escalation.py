"""Hands an upset customer to a human as soon as the action server decides so.

The decision itself (sentiment, customer value, the reason) is made and logged by the action
server's `action_analyse_message`, which Rasa runs after every customer message through a
custom slot mapping and which sets the `escalation_reason` slot. Rules cannot fire on a slot
regardless of intent, and a featurized slot would switch off every rule that does not mention
it, so this small policy turns the slot into the next action instead.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

ESCALATION_SLOT = "escalation_reason"
ESCALATION_ACTION = "action_escalate"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class EscalationPolicy(Policy):
    """Predicts `action_escalate` when the latest message set `escalation_reason`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Above RulePolicy (6): an upset customer goes to a person even in the middle of a form.
        return {"priority": 7}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = next_action(tracker)
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        # While a form runs, RulePolicy's loop prediction is a "no user" prediction, which beats
        # every prediction that is not, whatever its priority; this one must be able to win.
        return self._prediction(probabilities, is_no_user_prediction=True)


def next_action(tracker: DialogueStateTracker) -> str | None:
    """`action_escalate` right after a turn that asked for it, then listen; else no opinion."""
    escalation_requested = False
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            return ACTION_LISTEN_NAME if event.action_name == ESCALATION_ACTION else None
        elif isinstance(event, SlotSet) and event.key == ESCALATION_SLOT and event.value:
            escalation_requested = True
        elif isinstance(event, UserUttered):
            return ESCALATION_ACTION if escalation_requested else None
    return None
