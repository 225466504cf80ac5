"""Customer segments: k-means over value, frequency, recency, support load, mood and tenure.

k is the one with the best silhouette among K_CHOICES (fixed seeds, so an unchanged CRM gets the
same segments on every run). Each segment is named for people from its centroid: the two or
three features where it stands furthest from the average customer ("loyal high spenders",
"lapsed", "new and unhappy"), and each customer's reasons say what puts them there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

MODEL_VERSION = "segments-1"
# Per customer, in their own units; log-scaled before clustering where they are skewed.
FEATURES = (
    "spend_last_year",
    "orders_last_year",
    "days_since_last_order",
    "tenure_days",
    "contacts_last_year",
    "complaints_last_year",
    "mood",  # mean conversation sentiment, -1..1 (0 without conversations)
)
SKEWED = frozenset(
    {"spend_last_year", "orders_last_year", "contacts_last_year", "complaints_last_year"}
)
K_CHOICES = range(3, 8)
SEED = 0
# How far (in standard deviations) a centroid must stand out for a feature to name it.
NOTABLE = 0.5


@dataclass(frozen=True)
class Segmentation:
    labels: pd.Series  # customer_id -> segment name
    k: int
    silhouette: float
    silhouettes: dict[int, float]
    sizes: dict[str, int]
    centroids: dict[str, dict[str, float]]  # name -> feature -> value in its own unit
    reasons: dict[int, list[str]]


def segment_customers(features: pd.DataFrame) -> Segmentation:
    """Cluster the customers (index: customer_id, columns: FEATURES)."""
    missing = [name for name in FEATURES if name not in features.columns]
    if missing:
        raise ValueError(f"segment features lack {', '.join(missing)}")
    if len(features) < max(K_CHOICES) * 3:
        raise ValueError(f"segments need at least {max(K_CHOICES) * 3} customers")
    raw = features.loc[:, list(FEATURES)].astype(float).fillna(0.0)
    points = z_scores(raw)
    silhouettes: dict[int, float] = {}
    fits: dict[int, KMeans] = {}
    for k in K_CHOICES:
        model = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(points)
        fits[k] = model
        silhouettes[k] = float(silhouette_score(points, model.labels_, random_state=SEED))
    k = max(silhouettes, key=lambda choice: (round(silhouettes[choice], 4), -choice))
    model = fits[k]
    z_centroids = model.cluster_centers_
    names = name_centroids(z_centroids)
    labels = pd.Series([names[i] for i in model.labels_], index=features.index, name="segment")
    centroids = {
        names[i]: {
            name: round(float(raw[model.labels_ == i][name].median()), 2) for name in FEATURES
        }
        for i in range(k)
    }
    reasons = {
        int(customer): _reasons(z_centroids[cluster], raw.loc[customer])
        for customer, cluster in zip(features.index, model.labels_, strict=True)
    }
    return Segmentation(
        labels=labels,
        k=k,
        silhouette=round(silhouettes[k], 4),
        silhouettes={choice: round(value, 4) for choice, value in silhouettes.items()},
        sizes={name: int((labels == name).sum()) for name in names},
        centroids=centroids,
        reasons=reasons,
    )


def z_scores(features: pd.DataFrame) -> np.ndarray:
    """The points k-means sees: FEATURES (in this order), the skewed ones log-scaled, each
    standardised with its population standard deviation (StandardScaler)."""
    transformed = features.loc[:, list(FEATURES)].astype(float).fillna(0.0)
    for name in SKEWED:
        transformed[name] = np.log1p(transformed[name].clip(lower=0))
    points: np.ndarray = StandardScaler().fit_transform(transformed)
    return points


def name_centroids(z_centroids: np.ndarray) -> list[str]:
    """A distinct name per centroid (rows in z-space, columns FEATURES), in the rows' order;
    the Spark job names its segments with it too."""
    return _unique_names([_name(np.asarray(center, dtype=float)) for center in z_centroids])


def _name(center: np.ndarray) -> str:
    z = dict(zip(FEATURES, center, strict=True))
    spend, orders = z["spend_last_year"], z["orders_last_year"]
    quiet, tenure = z["days_since_last_order"], z["tenure_days"]
    unhappy = max(-z["mood"], z["complaints_last_year"])
    if tenure < -1.0:
        base = "new customers"
    elif quiet > 2 * NOTABLE and orders < 0:
        base = "lapsed customers"
    elif quiet > NOTABLE:
        base = "drifting away"
    elif spend > NOTABLE and orders > NOTABLE:
        base = "loyal high spenders"
    elif spend > NOTABLE:
        base = "big-basket buyers"
    elif orders > NOTABLE:
        base = "frequent buyers"
    elif spend < -NOTABLE and orders < -NOTABLE:
        base = "occasional buyers"
    else:
        base = "steady customers"
    if unhappy > NOTABLE:
        return f"{base}, unhappy"
    if z["contacts_last_year"] > NOTABLE:
        return f"{base}, often in touch"
    return base


def _unique_names(names: list[str]) -> list[str]:
    """Two centroids can earn the same name; number them so each segment stays distinct."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        result.append(name if names.count(name) == 1 else f"{name} ({seen[name]})")
    return result


_DESCRIBE = {
    "spend_last_year": ("spent {:,.2f} in the last year", "spend"),
    "orders_last_year": ("{:.0f} orders in the last year", "orders"),
    "days_since_last_order": ("last order {:.0f} days ago", "recency"),
    "tenure_days": ("customer for {:.0f} days", "tenure"),
    "contacts_last_year": ("{:.0f} conversations or tickets in the last year", "contacts"),
    "complaints_last_year": ("{:.0f} complaints in the last year", "complaints"),
    "mood": ("average conversation mood {:+.2f}", "mood"),
}


def _reasons(center: np.ndarray, values: pd.Series) -> list[str]:
    """The customer's own values on the two features that set their segment apart most."""
    order = np.argsort(-np.abs(center))[:2]
    return [_DESCRIBE[FEATURES[i]][0].format(float(values[FEATURES[i]])) for i in order]
