"""The escalation decision: its features, the model file, and the reasons an agent reads."""

from __future__ import annotations

import dataclasses
import json

import pytest

from supportbot.escalation import (
    FEATURE_NAMES,
    EscalationModel,
    EscalationModelMissing,
    Turn,
    explain,
    features,
)


def turn(text: str, score: float = 0.0, intensity: float = 0.0) -> Turn:
    return Turn(text=text, score=score, intensity=intensity)


def test_sentiment_trajectory_features():
    values = features([turn("hi", 0.2, 0.1), turn("late again", -0.6, -0.3), turn("x", -0.9, -0.8)])
    assert values["last_sentiment"] == -0.9 and values["min_sentiment"] == -0.9
    assert values["sentiment_change"] == pytest.approx(-1.1)
    assert values["negative_messages"] == 2 and values["turns"] == 3
    assert values["last_intensity"] == -0.8 and values["min_intensity"] == -0.8


def test_only_the_last_five_messages_count():
    history = [turn("this is awful", -0.9)] + [turn("ok", 0.1)] * 5
    assert features(history)["min_sentiment"] == 0.1 and features(history)["turns"] == 5


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("this is the third time I write to you", "repeat_contact"),
        ("i already emailed twice and nobody answered", "repeat_contact"),
        ("still no refund after three weeks", "repeat_contact"),
        ("close my account, I'm done with you", "threat_to_leave"),
        ("I will file a chargeback with my bank", "threat_to_leave"),
        ("never ordering from you again", "threat_to_leave"),
        ("this bot is useless", "distrust_bot"),
        ("we are going round in circles", "distrust_bot"),
        ("let me talk to a real person", "asks_for_person"),
        ("oh great, another week of waiting, love it", "sarcasm"),
        ("ok that fixes it, thanks", "calm_last"),
    ],
)
def test_cues_in_the_customers_words(text, cue):
    assert features([turn(text)])[cue] == 1.0
    assert features([turn("where is my parcel?")])[cue] == 0.0


def test_shouting_and_value_tier():
    assert features([turn("WHERE IS MY ORDER")])["shouting"] == 1.0
    assert features([turn("where is my order")])["shouting"] == 0.0
    platinum = features([turn("bad", -0.8)], tier="platinum")
    assert platinum["high_value"] == 1.0 and platinum["high_value_negative"] == 0.8
    assert features([turn("bad", -0.8)], tier="silver")["high_value"] == 0.0
    with pytest.raises(ValueError, match="at least one"):
        features([])


def model(threshold: float = 0.5) -> EscalationModel:
    """A hand-set model: negativity and a repeat contact push towards a person."""
    weights = dict.fromkeys(FEATURE_NAMES, 0.0)
    weights.update(last_sentiment=-2.0, repeat_contact=1.5)
    return EscalationModel(
        means=dict.fromkeys(FEATURE_NAMES, 0.0),
        scales=dict.fromkeys(FEATURE_NAMES, 1.0),
        weights=weights,
        intercept=-1.0,
        threshold=threshold,
    )


def test_the_decision_is_the_logistic_model_with_its_contributions():
    decision = model().decide([turn("third time asking", -0.8, -0.5)])
    # logit = -1 + (-2 x -0.8) + 1.5 x 1 = 2.1
    assert decision.escalate and decision.probability == pytest.approx(0.8909, abs=1e-4)
    assert decision.contributions["last_sentiment"] == pytest.approx(1.6)
    assert decision.contributions["repeat_contact"] == pytest.approx(1.5)
    calm = model().decide([turn("where is my parcel?", 0.1)])
    assert not calm.escalate and calm.reasons == []


def test_the_reason_names_the_features_that_drove_it_strongest_first():
    decision = model().decide([turn("third time asking", -0.8, -0.5)])
    assert decision.reasons == [
        "the last message is negative (sentiment -0.80)",
        "says the problem is a repeat contact",
    ]
    assert decision.reason.startswith("the last message is negative")
    assert "P(needs a person) 0.89" in decision.reason
    details = decision.details()
    assert details["contributions"]["repeat_contact"] == 1.5 and "third" not in json.dumps(details)


def test_small_pushes_are_not_named():
    values = dict.fromkeys(FEATURE_NAMES, 0.0)
    contributions = dict.fromkeys(FEATURE_NAMES, 0.1)
    contributions["sarcasm"] = 2.0
    assert explain(values, contributions) == ["sarcasm cues"]


def test_the_wording_is_one_contribution_and_needs_the_vector():
    with_vector = dataclasses.replace(
        model(), vector_means=(0.0, 0.0), vector_scales=(1.0, 2.0), vector_weights=(1.0, 1.0)
    )
    decision = with_vector.decide([turn("hmm", 0.0)], vector=[0.5, 2.0])
    # logit = -1 + 0.5 + 2.0 / 2 = 0.5
    assert decision.contributions["wording"] == pytest.approx(1.5)
    assert decision.escalate and decision.reasons == [
        "the wording is like that of customers who needed a person"
    ]
    with pytest.raises(ValueError, match="2-d sentence vector"):
        with_vector.decide([turn("hmm")])


def test_the_model_file_round_trips_and_refuses_other_features(tmp_path):
    path = model(threshold=0.42).save(tmp_path)
    loaded = EscalationModel.load(tmp_path)
    assert loaded == model(threshold=0.42)
    data = json.loads(path.read_text())
    data["features"] = data["features"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(EscalationModelMissing, match="other features"):
        EscalationModel.load(tmp_path)
    with pytest.raises(EscalationModelMissing, match="make setup"):
        EscalationModel.load(tmp_path / "nowhere")
