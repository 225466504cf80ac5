"""Purchase histories as the customer-base models see them: one row per customer at a cutoff.

A history is a table of purchases (`customer_id`, `at`, `value`, `items`). At a cutoff it
becomes, per customer who had bought by then:
- the BTYD summary in weeks, as `lifetimes` makes it (repeat-purchase weeks `frequency`, the
  week of the last repeat `recency`, age `T`, mean repeat spend `monetary_value`);
- what happened after the cutoff, when an outcome window is given (`purchases_after`,
  `value_after`), which is what the models learn to predict;
- features beyond RFM: days since the last purchase, gaps between purchases, recent activity,
  basket size and the trend of spend.

CDNOW (the public benchmark) and the shop's CRM go through the same code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

COLUMNS = ("customer_id", "at", "value", "items")
FREQ = "W"  # the models count purchase weeks, as the CDNOW reference points do
RECENT_WEEKS = (4, 12)


class HistoryError(ValueError):
    """A purchase history the models cannot use (missing columns, no purchases before a cutoff)."""


def check_history(purchases: pd.DataFrame) -> pd.DataFrame:
    """The history with the expected columns and types, or a clear HistoryError."""
    missing = [c for c in COLUMNS if c not in purchases.columns]
    if missing:
        raise HistoryError(f"purchase history lacks the column(s) {', '.join(missing)}")
    history = purchases.loc[:, list(COLUMNS)].copy()
    history["at"] = pd.to_datetime(history["at"], utc=False)
    if getattr(history["at"].dt, "tz", None) is not None:
        history["at"] = history["at"].dt.tz_convert("UTC").dt.tz_localize(None)
    # Days, not moments: with times of day lifetimes can put a purchase's week after the
    # customer's age at the cutoff (recency > T), and the models count weeks anyway.
    history["at"] = history["at"].dt.normalize()
    history["value"] = pd.to_numeric(history["value"], errors="raise").astype(float)
    history["items"] = pd.to_numeric(history["items"], errors="raise").astype(float)
    if (history["value"] < 0).any():
        raise HistoryError("purchase values must not be negative")
    return history


def customers_at(
    purchases: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Summary and features of every customer who had bought by `cutoff` (index: customer_id).

    With `end`, also `purchases_after` (repeat-purchase weeks in (cutoff, end]) and
    `value_after` (their spend), plus `horizon` (the outcome window in weeks)."""
    history = check_history(purchases)
    cutoff = pd.Timestamp(cutoff).normalize()
    end = None if end is None else pd.Timestamp(end).normalize()
    seen = history[history["at"] <= cutoff]
    if seen.empty:
        raise HistoryError(f"no purchases on or before {cutoff:%Y-%m-%d}")
    if end is not None:
        if end <= cutoff:
            raise HistoryError("the outcome window must end after the cutoff")
        window = history[history["at"] <= end]
        raw = calibration_and_holdout_data(
            window,
            "customer_id",
            "at",
            calibration_period_end=cutoff,
            observation_period_end=end,
            freq=FREQ,
            monetary_value_col="value",
        )
        summary = pd.DataFrame(
            {
                "frequency": raw["frequency_cal"],
                "recency": raw["recency_cal"],
                "T": raw["T_cal"],
                "monetary_value": raw["monetary_value_cal"],
                "purchases_after": raw["frequency_holdout"],
                "value_after": raw["frequency_holdout"] * raw["monetary_value_holdout"],
                "horizon": raw["duration_holdout"],
            }
        )
    else:
        summary = summary_data_from_transaction_data(
            seen,
            "customer_id",
            "at",
            observation_period_end=cutoff,
            freq=FREQ,
            monetary_value_col="value",
        )
    summary.index.name = "customer_id"
    return summary.join(_beyond_rfm(seen, cutoff, summary))


def _beyond_rfm(seen: pd.DataFrame, cutoff: pd.Timestamp, summary: pd.DataFrame) -> pd.DataFrame:
    by_customer = seen.groupby("customer_id")
    first = seen.sort_values("at").groupby("customer_id").first()
    features = pd.DataFrame(index=summary.index)
    features["weeks_since_last"] = summary["T"] - summary["recency"]
    features["recency_share"] = np.where(summary["T"] > 0, summary["recency"] / summary["T"], 0.0)
    features["rate"] = summary["frequency"] / np.maximum(summary["T"], 1)
    features["first_value"] = first["value"]
    features["first_items"] = first["items"]
    features["total_value"] = by_customer["value"].sum()
    features["total_items"] = by_customer["items"].sum()
    features["purchases"] = by_customer.size()
    features["items_per_purchase"] = features["total_items"] / features["purchases"]
    features["max_value"] = by_customer["value"].max()
    days = seen.assign(day=seen["at"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    days = days.sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days.groupby(days["customer_id"])
    features["gap_mean"] = gaps.mean()
    features["gap_std"] = gaps.std()
    features["gap_last"] = gaps.last()
    for weeks in RECENT_WEEKS:
        since = cutoff - pd.Timedelta(weeks=weeks)
        recent_days = days[days["day"] > since].groupby("customer_id").size()
        recent_value = seen[seen["at"] > since].groupby("customer_id")["value"].sum()
        features[f"days_bought_last_{weeks}w"] = recent_days.reindex(summary.index, fill_value=0)
        features[f"value_last_{weeks}w"] = recent_value.reindex(summary.index, fill_value=0.0)
    features["days_since_last"] = (cutoff - by_customer["at"].max()).dt.days
    features["days_since_first"] = (cutoff - by_customer["at"].min()).dt.days
    features["purchase_days"] = days.groupby("customer_id").size()
    features["value_per_day"] = features["total_value"] / features["purchase_days"]
    features["value_trend"] = features["value_last_12w"] / (features["total_value"] + 1)
    return features
