"""Who will buy again, how often and for how much: BG/NBD, corrected by gradient boosting.

The customer-base model of the field (BG/NBD, from `lifetimes`) turns each customer's purchase
rhythm into an expected number of purchases over a horizon; Gamma-Gamma turns their spend into an
expected value per purchase. Two LightGBM models then learn, from features beyond RFM, how far
those expectations are off:
- a Poisson model of repeat-purchase weeks, boosted from log(BG/NBD's expectation), and
- a logistic model of "buys again in the horizon", boosted from the logit of BG/NBD's
  chance of at least one purchase (1 - exp(-expected purchases)).
Starting from BG/NBD's prediction (an offset) lets the same trees serve any horizon.

Training uses only the history before `calibration_end`: the models learn from windows inside it
(features up to an inner cutoff, outcome up to `calibration_end`), with early stopping on a
share of customers held out of the windows. Every prediction comes with its reasons: LightGBM's
tree SHAP contributions, read as sentences ("no purchase for 30 weeks").
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.fitters import ConvergenceError

from supportbot.insights.purchase_history import HistoryError, customers_at

MODEL_VERSION = "purchase-1"
# The features the boosted models see; the BG/NBD expectation and alive chance lead.
FEATURES = (
    "bgnbd_expected",
    "bgnbd_alive",
    "frequency",
    "weeks_since_last",
    "recency_share",
    "rate",
    "monetary_value",
    "first_value",
    "first_items",
    "total_value",
    "total_items",
    "purchases",
    "items_per_purchase",
    "max_value",
    "gap_mean",
    "gap_std",
    "gap_last",
    "days_bought_last_4w",
    "value_last_4w",
    "days_bought_last_12w",
    "value_last_12w",
    "T",
    "days_since_last",
    "days_since_first",
    "purchase_days",
    "value_per_day",
    "value_trend",
)
# Inner cutoffs, as shares of the calibration period: each gives one training window.
INNER_CUTOFFS = (0.5, 0.67)
VALIDATION_SHARE = 0.2
EPS = 1e-6
Log = Callable[[str], None]


@dataclass(frozen=True)
class BaseModels:
    """BG/NBD (or Pareto/NBD where BG/NBD cannot be fitted) and Gamma-Gamma, fitted on one
    history (unsupervised: no outcome needed). The `bgnbd_*` features name the count model."""

    bgnbd: BetaGeoFitter | ParetoNBDFitter
    gamma_gamma: GammaGammaFitter | None
    mean_spend: float

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> BaseModels:
        bgnbd = _fit_bgnbd(summary)
        repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        gamma_gamma: GammaGammaFitter | None = None
        if len(repeaters) >= 20:
            gamma_gamma = GammaGammaFitter(penalizer_coef=0.001)
            with _quiet_numpy():
                gamma_gamma.fit(repeaters["frequency"], repeaters["monetary_value"])
        mean_spend = float(repeaters["monetary_value"].mean()) if len(repeaters) else 0.0
        return cls(bgnbd, gamma_gamma, mean_spend)

    def expected_purchases(self, summary: pd.DataFrame, horizon: float) -> pd.Series:
        expected = self.bgnbd.conditional_expected_number_of_purchases_up_to_time(
            horizon, summary["frequency"], summary["recency"], summary["T"]
        )
        return pd.Series(np.asarray(expected, dtype=float), index=summary.index)

    def alive(self, summary: pd.DataFrame) -> pd.Series:
        alive = self.bgnbd.conditional_probability_alive(
            summary["frequency"], summary["recency"], summary["T"]
        )
        return pd.Series(np.asarray(alive, dtype=float), index=summary.index)

    def spend_per_purchase(self, summary: pd.DataFrame) -> pd.Series:
        if self.gamma_gamma is None:
            return pd.Series(self.mean_spend, index=summary.index)
        spend = self.gamma_gamma.conditional_expected_average_profit(
            summary["frequency"], summary["monetary_value"]
        )
        return pd.Series(np.asarray(spend, dtype=float), index=summary.index)


# Unpenalised first (CDNOW's reference fit); small histories can leave a and b unidentified
# (the optimiser walks off to log a = -17), so a little shrinkage is tried next. Where nobody
# seems to leave right after a purchase, BG/NBD's dropout probability sits at zero, the edge
# of its range, and the fit never converges: Pareto/NBD, whose customers leave at any time,
# stands in.
PENALIZERS = (0.0, 0.001, 0.01)
FALLBACK_PENALIZERS = (0.0, 0.01, 0.1)


@contextlib.contextmanager
def _quiet_numpy() -> Iterator[None]:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _fit_bgnbd(summary: pd.DataFrame) -> BetaGeoFitter | ParetoNBDFitter:
    last: Exception | None = None
    candidates: list[BetaGeoFitter | ParetoNBDFitter] = [
        *(BetaGeoFitter(penalizer_coef=p) for p in PENALIZERS),
        *(ParetoNBDFitter(penalizer_coef=p) for p in FALLBACK_PENALIZERS),
    ]
    for model in candidates:
        # Pareto/NBD starts from a random point unless told where (the same data must give
        # the same fit); BG/NBD always starts from 0.1.
        start = {"initial_params": np.ones(4)} if isinstance(model, ParetoNBDFitter) else {}
        try:
            # lifetimes prints the optimiser's state when it fails (the error says enough), and
            # the optimiser's trial steps take logs of zero on the way (numpy warns; harmless).
            with contextlib.redirect_stdout(io.StringIO()), _quiet_numpy():
                return model.fit(summary["frequency"], summary["recency"], summary["T"], **start)
        except ConvergenceError as error:
            last = error
    raise HistoryError(
        f"neither BG/NBD nor Pareto/NBD converged on {len(summary):,} customers"
    ) from last


def _logit(p: np.ndarray | pd.Series) -> np.ndarray:
    clipped = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(clipped / (1 - clipped))


def _at_least_one(expected: pd.Series) -> pd.Series:
    return 1 - np.exp(-expected)


def _with_base(summary: pd.DataFrame, base: BaseModels, horizon: float) -> pd.DataFrame:
    frame = summary.copy()
    # Rounded: where a parameter sits at the edge of its range the optimiser's last digits
    # differ from fit to fit, and the trees would split differently on unchanged data.
    frame["bgnbd_expected"] = base.expected_purchases(summary, horizon).round(4)
    frame["bgnbd_alive"] = base.alive(summary).round(4)
    return frame


@dataclass(frozen=True)
class Outlook:
    """Per customer (index: customer_id) what the models expect over `horizon` weeks."""

    horizon: float
    frame: pd.DataFrame  # expected_purchases, buys_again, churn_risk, spend_per_purchase,
    # expected_value, bgnbd_expected, bgnbd_buys_again, and the features


@dataclass
class PurchaseModel:
    """The two boosted models, and how they were trained."""

    counts: lgb.Booster
    buys_again: lgb.Booster
    trained: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        purchases: pd.DataFrame,
        calibration_end: pd.Timestamp,
        *,
        seed: int = 0,
        log: Log | None = None,
    ) -> PurchaseModel:
        """Learn from windows inside the history up to `calibration_end` (nothing after it)."""
        say = log or (lambda _line: None)
        history = purchases[pd.to_datetime(purchases["at"]) <= calibration_end]
        start = pd.to_datetime(history["at"]).min()
        if pd.isna(start) or calibration_end - start < pd.Timedelta(weeks=8):
            raise HistoryError("training needs at least 8 weeks of purchase history")
        windows = []
        for share in INNER_CUTOFFS:
            cutoff = (start + (calibration_end - start) * share).normalize()
            frame = customers_at(history, cutoff, calibration_end)
            base = BaseModels.fit(frame)
            horizon = float(frame["horizon"].iloc[0])
            windows.append(_with_base(frame, base, horizon))
            say(
                f"  window to {cutoff:%Y-%m-%d}: {len(frame):,} customers, outcome over "
                f"{horizon:.0f} weeks, {(frame['purchases_after'] > 0).mean():.1%} bought again"
            )
        customers = np.unique(np.concatenate([w.index.to_numpy() for w in windows]))
        rng = np.random.default_rng(seed)
        held_out = set(
            rng.choice(
                customers, size=max(1, int(len(customers) * VALIDATION_SHARE)), replace=False
            )
        )
        rows = pd.concat(windows)
        is_val = rows.index.isin(list(held_out))
        train, val = rows[~is_val], rows[is_val]
        params = {
            "learning_rate": 0.03,
            "num_leaves": 15,
            # Scaled for small shops; CDNOW's windows give the 100 it was validated with.
            "min_data_in_leaf": int(max(10, min(100, len(train) // 300))),
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "verbose": -1,
            "seed": seed,
            "num_threads": 2,
            # The same data gives the same model on every run (threads would otherwise sum
            # histograms in a different order, and small shops' splits would wander).
            "deterministic": True,
            "force_row_wise": True,
        }
        count_offset = np.log(rows["bgnbd_expected"] + EPS)
        buy_offset = _logit(_at_least_one(rows["bgnbd_expected"]))
        bought = (rows["purchases_after"] > 0).astype(int)
        models = {}
        for name, objective, target, offset in (
            ("counts", "poisson", rows["purchases_after"], count_offset),
            ("buys_again", "binary", bought, buy_offset),
        ):
            offset = np.asarray(offset)
            early = lgb.train(
                {**params, "objective": objective},
                lgb.Dataset(train[list(FEATURES)], target[~is_val], init_score=offset[~is_val]),
                num_boost_round=2000,
                valid_sets=[
                    lgb.Dataset(val[list(FEATURES)], target[is_val], init_score=offset[is_val])
                ],
                callbacks=[lgb.early_stopping(100, verbose=False)],
            )
            rounds = max(1, early.best_iteration)
            # Refit on every window row with the number of rounds the held-out share chose.
            models[name] = lgb.train(
                {**params, "objective": objective},
                lgb.Dataset(rows[list(FEATURES)], target, init_score=offset),
                num_boost_round=rounds,
            )
            say(f"  {name}: {rounds} boosting rounds (early stopping on held-out customers)")
        trained = {
            "version": MODEL_VERSION,
            "calibration_end": f"{calibration_end:%Y-%m-%d}",
            "windows": [f"{w.index.size} customers" for w in windows],
            "rows": len(rows),
            "params": params,
        }
        return cls(models["counts"], models["buys_again"], trained)

    def predict(self, purchases: pd.DataFrame, at: pd.Timestamp, horizon: float) -> Outlook:
        """The outlook of every customer who had bought by `at`, over `horizon` weeks."""
        if horizon <= 0:
            raise ValueError("the horizon must be a positive number of weeks")
        summary = customers_at(purchases, at)
        base = BaseModels.fit(summary)
        frame = _with_base(summary, base, horizon)
        features = frame[list(FEATURES)]
        count_offset = np.log(frame["bgnbd_expected"].to_numpy() + EPS)
        bgnbd_buys = _at_least_one(frame["bgnbd_expected"])
        frame["expected_purchases"] = np.exp(
            self.counts.predict(features, raw_score=True) + count_offset
        )
        buy_score = self.buys_again.predict(features, raw_score=True) + _logit(bgnbd_buys)
        frame["buys_again"] = 1 / (1 + np.exp(-buy_score))
        frame["churn_risk"] = 1 - frame["buys_again"]
        frame["bgnbd_buys_again"] = bgnbd_buys
        frame["spend_per_purchase"] = base.spend_per_purchase(summary)
        frame["expected_value"] = frame["expected_purchases"] * frame["spend_per_purchase"]
        frame["bgnbd_value"] = frame["bgnbd_expected"] * frame["spend_per_purchase"]
        return Outlook(horizon, frame)

    def churn_reasons(self, outlook: Outlook, *, top: int = 3) -> dict[Any, list[str]]:
        """What moved each customer's churn risk most away from the average customer's, as
        sentences, strongest first. From tree SHAP on the buys-again model (log-odds); the
        BG/NBD starting point counts as the purchase rhythm's share, so the effects add up."""
        features = outlook.frame[list(FEATURES)]
        shap = np.asarray(self.buys_again.predict(features, pred_contrib=True))
        contributions = shap[:, : len(FEATURES)]  # the last column is the bias
        offset = _logit(outlook.frame["bgnbd_buys_again"])
        rhythm = [FEATURES.index("bgnbd_expected"), FEATURES.index("bgnbd_alive")]
        # Positive contributions to buying again lower the churn risk.
        effects = -contributions
        effects[:, rhythm[0]] -= offset - offset.mean()
        reasons: dict[Any, list[str]] = {}
        for row, customer_id in enumerate(features.index):
            row_effects = effects[row].copy()
            row_effects[rhythm[0]] += row_effects[rhythm[1]]
            row_effects[rhythm[1]] = 0.0
            sentences: list[str] = []
            topics: set[str] = set()
            for column in np.argsort(-np.abs(row_effects)):
                if abs(row_effects[column]) < 0.01 or len(sentences) == top:
                    break
                name = FEATURES[int(column)]
                topic, text = describe(name, features.iat[row, int(column)], outlook.horizon)
                if topic in topics:
                    continue
                topics.add(topic)
                direction = "raises" if row_effects[column] > 0 else "lowers"
                sentences.append(f"{text} ({direction} churn risk)")
            reasons[customer_id] = sentences
        return reasons

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "counts.txt").write_text(self.counts.model_to_string())
        (directory / "buys_again.txt").write_text(self.buys_again.model_to_string())
        (directory / "model.json").write_text(json.dumps(self.trained, indent=2))

    @classmethod
    def load(cls, directory: Path) -> PurchaseModel:
        return cls(
            lgb.Booster(model_file=str(directory / "counts.txt")),
            lgb.Booster(model_file=str(directory / "buys_again.txt")),
            json.loads((directory / "model.json").read_text()),
        )


def describe(feature: str, value: float, horizon: float) -> tuple[str, str]:
    """(topic, sentence) for one feature's value; features on one topic share a sentence."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if feature.startswith("gap_"):
            return "rhythm", "only one purchase day so far"
        return feature, f"no {feature.replace('_', ' ')} yet"
    number = float(value)
    weeks = round(number)
    texts: dict[str, tuple[str, str]] = {
        "bgnbd_expected": (
            "rhythm",
            f"purchase rhythm expects {number:.1f} purchases in {horizon:.0f} weeks",
        ),
        "bgnbd_alive": ("rhythm", f"purchase rhythm says {number:.0%} likely still a customer"),
        "frequency": ("frequency", f"{weeks} repeat purchase week{'s' if weeks != 1 else ''}"),
        "purchases": ("frequency", f"{weeks} purchase{'s' if weeks != 1 else ''} in all"),
        "purchase_days": ("frequency", f"bought on {weeks} day{'s' if weeks != 1 else ''}"),
        "rate": ("frequency", f"buys in {number:.0%} of weeks"),
        "weeks_since_last": ("recency", f"no purchase for {weeks} weeks"),
        "days_since_last": ("recency", f"no purchase for {weeks} days"),
        "recency_share": ("recency", f"last repeat purchase {number:.0%} of the way in"),
        "T": ("tenure", f"customer for {weeks} weeks"),
        "days_since_first": ("tenure", f"first purchase {weeks} days ago"),
        "gap_mean": ("rhythm", f"usually {weeks} days between purchases"),
        "gap_std": ("rhythm", f"irregular gaps (± {weeks} days)"),
        "gap_last": ("rhythm", f"last gap between purchases {weeks} days"),
        "days_bought_last_4w": ("recent", f"bought on {weeks} days in the last 4 weeks"),
        "days_bought_last_12w": ("recent", f"bought on {weeks} days in the last 12 weeks"),
        "value_last_4w": ("recent", f"spent {number:,.2f} in the last 4 weeks"),
        "value_last_12w": ("recent", f"spent {number:,.2f} in the last 12 weeks"),
        "value_trend": ("recent", f"{number:.0%} of all spend in the last 12 weeks"),
        "monetary_value": ("spend", f"repeat purchases average {number:,.2f}"),
        "first_value": ("spend", f"first purchase {number:,.2f}"),
        "total_value": ("spend", f"spent {number:,.2f} in all"),
        "max_value": ("spend", f"largest purchase {number:,.2f}"),
        "value_per_day": ("spend", f"{number:,.2f} a purchase day"),
        "first_items": ("basket", f"{weeks} item{'s' if weeks != 1 else ''} in the first order"),
        "total_items": ("basket", f"{weeks} items bought in all"),
        "items_per_purchase": ("basket", f"{number:.1f} items a purchase"),
    }
    return texts.get(feature, (feature, f"{feature.replace('_', ' ')} {number:g}"))
