"""Satisfaction learnt from the CSAT answers customers gave, against the hand-set formula.

A ridge regression over what a conversation showed (sentiment: mean, lowest, last and trend;
outcome, hand-over, fallbacks, length, a complaint) predicts the 1-5 rating. It is trained on
the older rated conversations and scored on the newest quarter, next to the formula
(`supportbot.crm.profile.satisfaction_estimate`) on the same conversations. The job uses
whichever has the lower held-out error, and says which. A linear model keeps the reasons exact:
each feature's contribution is its weight times its distance from the average conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from supportbot.crm.models import Interaction

MODEL_VERSION = "satisfaction-1"
FEATURES = (
    "sentiment_mean",
    "sentiment_lowest",
    "sentiment_last",
    "sentiment_trend",
    "resolved",
    "handed_over",
    "fallbacks",
    "messages",
    "complaint",
)
HELD_OUT_SHARE = 0.25
MIN_RATED = 40
_READABLE = {
    "sentiment_mean": "overall mood of the conversation",
    "sentiment_lowest": "its lowest moment",
    "sentiment_last": "how it ended",
    "sentiment_trend": "mood getting better or worse",
    "resolved": "whether it was resolved",
    "handed_over": "a hand-over to a person",
    "fallbacks": "times the bot did not understand",
    "messages": "its length",
    "complaint": "a complaint",
}


def conversation_features(interaction: Interaction) -> list[float]:
    scores = [float(m["score"]) for m in interaction.message_sentiments or [] if "score" in m]
    return [
        float(np.mean(scores)) if scores else 0.0,
        min(scores) if scores else 0.0,
        scores[-1] if scores else 0.0,
        float(interaction.sentiment_trend or 0.0),
        1.0 if interaction.outcome == "resolved" else 0.0,
        1.0 if interaction.handoff else 0.0,
        float(min(interaction.fallback_count or 0, 5)),
        float(min(len(scores), 30)),
        1.0 if "complaint" in (interaction.intents or []) else 0.0,
    ]


@dataclass(frozen=True)
class SatisfactionModel:
    scaler: StandardScaler | None
    ridge: Ridge | None
    chosen: str  # "learned" or "formula"
    evaluation: dict[str, float | int | str]

    def predict(self, interaction: Interaction) -> float | None:
        if self.chosen == "formula" or self.ridge is None or self.scaler is None:
            return interaction.satisfaction_estimate
        row = self.scaler.transform([conversation_features(interaction)])
        return float(np.clip(self.ridge.predict(row)[0], 1, 5))

    def reasons(self, interaction: Interaction, *, top: int = 2) -> list[str]:
        if self.chosen == "formula" or self.ridge is None or self.scaler is None:
            return ["from the hand-set formula (the learned model did not beat it)"]
        row = self.scaler.transform([conversation_features(interaction)])[0]
        effects = self.ridge.coef_ * row  # the average conversation scores 0 after scaling
        order = np.argsort(-np.abs(effects))[:top]
        return [
            f"{_READABLE[FEATURES[i]]} ({'raises' if effects[i] > 0 else 'lowers'} it "
            f"{abs(effects[i]):.1f} points)"
            for i in order
            if abs(effects[i]) >= 0.05
        ]


def learn_satisfaction(rated: Sequence[Interaction]) -> SatisfactionModel:
    """Train on the older rated conversations, compare with the formula on the newest."""
    usable = sorted(
        (i for i in rated if i.csat_rating is not None), key=lambda i: (i.started_at, i.id)
    )
    if len(usable) < MIN_RATED:
        return SatisfactionModel(
            None, None, "formula", {"rated": len(usable), "why": f"fewer than {MIN_RATED} ratings"}
        )
    split = int(len(usable) * (1 - HELD_OUT_SHARE))
    train, test = usable[:split], usable[split:]
    x_train = np.array([conversation_features(i) for i in train])
    y_train = np.array([float(i.csat_rating or 0) for i in train])
    scaler = StandardScaler().fit(x_train)
    ridge = Ridge(alpha=1.0).fit(scaler.transform(x_train), y_train)
    x_test = scaler.transform(np.array([conversation_features(i) for i in test]))
    y_test = np.array([float(i.csat_rating or 0) for i in test])
    learned = np.clip(ridge.predict(x_test), 1, 5)
    formula = np.array(
        [i.satisfaction_estimate if i.satisfaction_estimate is not None else 3.5 for i in test]
    )
    learned_mae = float(np.mean(np.abs(learned - y_test)))
    formula_mae = float(np.mean(np.abs(formula - y_test)))
    mean_mae = float(np.mean(np.abs(y_train.mean() - y_test)))
    evaluation: dict[str, float | int | str] = {
        "rated": len(usable),
        "train": len(train),
        "held_out": len(test),
        "learned_mae": round(learned_mae, 3),
        "formula_mae": round(formula_mae, 3),
        "mean_rating_mae": round(mean_mae, 3),
    }
    chosen = "learned" if learned_mae < formula_mae else "formula"
    if chosen == "learned":
        # Refit on every rating now that the held-out check has chosen it.
        x_all = np.array([conversation_features(i) for i in usable])
        y_all = np.array([float(i.csat_rating or 0) for i in usable])
        scaler = StandardScaler().fit(x_all)
        ridge = Ridge(alpha=1.0).fit(scaler.transform(x_all), y_all)
    return SatisfactionModel(scaler, ridge, chosen, evaluation)
