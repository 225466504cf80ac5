"""The purchase models on simulated customers whose future is known: those still buying must be
told apart from those who left, and every prediction must carry its reasons."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from supportbot.insights.lifetime_value import PurchaseModel
from supportbot.insights.purchase_history import HistoryError, customers_at

START = pd.Timestamp("2025-01-01")
CALIBRATION_END = START + pd.Timedelta(weeks=40)
END = CALIBRATION_END + pd.Timedelta(weeks=20)


def simulate(customers: int = 900, seed: int = 3) -> pd.DataFrame:
    """A BG/NBD-like shop: each customer buys at their own rate and may leave after any
    purchase; about half join in the first weeks, the rest over the first 10 weeks."""
    rng = random.Random(seed)
    rows = []
    for customer in range(customers):
        rate = rng.gammavariate(0.8, 1 / 4)  # purchases a week
        leave_after_purchase = rng.betavariate(1.0, 4.0)
        day = rng.uniform(0, 70)
        while day < (END - START).days:
            rows.append(
                (
                    customer,
                    START + pd.Timedelta(days=day),
                    round(rng.uniform(5, 80), 2),
                    rng.randint(1, 4),
                )
            )
            if rng.random() < leave_after_purchase:
                break
            day += rng.expovariate(max(rate, 1e-3)) * 7
    return pd.DataFrame(rows, columns=["customer_id", "at", "value", "items"])


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def model(history: pd.DataFrame) -> PurchaseModel:
    return PurchaseModel.fit(history[history["at"] <= CALIBRATION_END], CALIBRATION_END)


def test_the_models_rank_who_buys_again_from_the_calibration_period_alone(history, model):
    seen = history[history["at"] <= CALIBRATION_END]
    outlook = model.predict(seen, CALIBRATION_END, horizon=20)
    truth = customers_at(history, CALIBRATION_END, END)
    frame = outlook.frame.loc[truth.index]
    bought = truth["purchases_after"] > 0
    assert 0.1 < bought.mean() < 0.9  # the simulation leaves both kinds of customer
    assert roc_auc_score(bought, frame["buys_again"]) > 0.75
    assert np.corrcoef(frame["expected_purchases"], truth["purchases_after"])[0, 1] > 0.5
    assert frame["churn_risk"].between(0, 1).all()
    assert np.allclose(frame["churn_risk"] + frame["buys_again"], 1)
    assert (frame["expected_value"] >= 0).all()
    # Total purchases forecast within a factor of two of what happened.
    ratio = frame["expected_purchases"].sum() / truth["purchases_after"].sum()
    assert 0.5 < ratio < 2


def test_a_customer_gone_quiet_is_at_higher_risk_and_the_reasons_say_why(history, model):
    seen = history[history["at"] <= CALIBRATION_END]
    outlook = model.predict(seen, CALIBRATION_END, horizon=20)
    frame = outlook.frame
    regulars = frame[(frame["frequency"] >= 5) & (frame["days_since_last"] <= 14)]
    lapsed = frame[(frame["frequency"] >= 5) & (frame["days_since_last"] >= 120)]
    assert len(regulars) and len(lapsed)
    assert lapsed["churn_risk"].median() > regulars["churn_risk"].median() + 0.3
    reasons = model.churn_reasons(outlook)
    assert set(reasons) == set(frame.index)
    quiet = lapsed["churn_risk"].idxmax()
    assert reasons[quiet], "every prediction carries its reasons"
    assert any("raises churn risk" in sentence for sentence in reasons[quiet])
    assert all(len(sentences) <= 3 for sentences in reasons.values())


def test_a_saved_model_predicts_the_same(history, model, tmp_path):
    seen = history[history["at"] <= CALIBRATION_END]
    model.save(tmp_path / "purchase")
    loaded = PurchaseModel.load(tmp_path / "purchase")
    assert loaded.trained["calibration_end"] == f"{CALIBRATION_END:%Y-%m-%d}"
    before = model.predict(seen, CALIBRATION_END, 20).frame["churn_risk"]
    after = loaded.predict(seen, CALIBRATION_END, 20).frame["churn_risk"]
    assert np.allclose(before, after)


def test_bad_histories_get_clear_errors(history):
    with pytest.raises(HistoryError, match="lacks the column"):
        customers_at(history.drop(columns=["value"]), CALIBRATION_END)
    with pytest.raises(HistoryError, match="no purchases on or before"):
        customers_at(history, START - pd.Timedelta(days=1))
    with pytest.raises(HistoryError, match="must end after"):
        customers_at(history, CALIBRATION_END, CALIBRATION_END)
    negative = history.assign(value=-1.0)
    with pytest.raises(HistoryError, match="negative"):
        customers_at(negative, CALIBRATION_END)
    with pytest.raises(HistoryError, match="8 weeks"):
        PurchaseModel.fit(history, START + pd.Timedelta(weeks=2))
