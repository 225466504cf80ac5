"""The escalation policy: the escalation slot set after a message becomes action_escalate."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.policies.escalation import EscalationPolicy

DOMAIN = Domain.load(str(Path(__file__).parents[2] / "domain.yml"))


@pytest.fixture
def policy(tmp_path: Path) -> EscalationPolicy:
    return EscalationPolicy.create(
        EscalationPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("escalation"),
        ExecutionContext(GraphSchema({})),
    )


def predicted(policy: EscalationPolicy, events: list) -> str | None:
    tracker = DialogueStateTracker.from_events("c-1", [ActionExecuted("action_listen"), *events])
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    if prediction.probabilities[best] == 0:
        return None
    assert prediction.policy_priority == 7 and prediction.probabilities[best] == 1.0
    return DOMAIN.action_names_or_texts[best]


def angry(reason: str | None = "one very negative message") -> list:
    return [
        UserUttered("this is a disgrace", intent={"name": "complaint", "confidence": 0.9}),
        SlotSet("sentiment", {"label": "negative", "score": -0.9}),
        SlotSet("escalation_reason", reason),
    ]


def test_escalates_right_after_the_message_that_asked_for_it(policy):
    assert predicted(policy, angry()) == "action_escalate"


def test_listens_after_escalating(policy):
    events = [*angry(), ActionExecuted("action_escalate"), SlotSet("escalation_reason", None)]
    assert predicted(policy, events) == "action_listen"


def test_escalation_beats_the_form_an_upset_customer_is_in(policy):
    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
    from rasa.core.policies.policy import PolicyPrediction

    tracker = DialogueStateTracker.from_events("c-1", [ActionExecuted("action_listen"), *angry()])
    ours = policy.predict_action_probabilities(tracker, DOMAIN)
    form = [0.0] * DOMAIN.num_actions
    form[DOMAIN.index_for_action("support_ticket_form")] = 1.0
    # RulePolicy's prediction of an active form's happy path: a "no user" prediction.
    loop = PolicyPrediction(form, "RulePolicy", policy_priority=6, is_no_user_prediction=True)

    best = DefaultPolicyPredictionEnsemble._pick_best_policy([loop, ours])
    assert best.policy_name == "EscalationPolicy"


def test_no_opinion_without_a_reason_or_once_the_turn_moved_on(policy):
    assert predicted(policy, angry(reason=None)) is None
    calm = UserUttered("thanks", intent={"name": "thank", "confidence": 0.9})
    assert predicted(policy, [calm]) is None
    # A reason set by an earlier turn does not escalate a later one.
    later = [*angry(), ActionExecuted("utter_greet"), ActionExecuted("action_listen"), calm]
    assert predicted(policy, later) is None


def test_persists_nothing_and_loads(policy, tmp_path):
    assert policy.train([], DOMAIN) == Resource("escalation")
    loaded = EscalationPolicy.load(
        EscalationPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("escalation"),
        ExecutionContext(GraphSchema({})),
    )
    assert predicted(loaded, angry()) == "action_escalate"
