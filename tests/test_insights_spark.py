"""The insights job on Apache Spark (local[2]) agrees with the single-machine job on the demo CRM:
the same features, the same segments up to label permutation and the same names, the same rules.

One Spark run for the module (Spark starts in about 10 s; the whole file takes under a minute).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import select

from supportbot.crm.models import ERASED_EMAIL_DOMAIN, Customer, Interaction, Order, Ticket
from supportbot.crm.seed import REFERENCE_DAY, seed_demo_data
from supportbot.insights import batch, segments
from supportbot.insights.product_rules import ProductRule, mine_product_rules
from supportbot.insights.spark_job import (
    TABLES,
    ExportSummary,
    SparkInsights,
    export_crm,
    read_export,
    run_on_spark,
)
from supportbot.store import crm_session, migrate

NOW = REFERENCE_DAY
# The thresholds batch.py mines with.
MIN_SUPPORT, MIN_CONFIDENCE, MIN_LIFT = 0.01, 0.2, 1.2


@dataclass(frozen=True)
class Local:
    features: pd.DataFrame
    segmentation: segments.Segmentation
    rules: list[ProductRule]
    names: list[str]
    emails: list[str]


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('insights-spark')) / 'crm.db'}"
    migrate(url)
    with crm_session(url) as store:
        seed_demo_data(store.session, customers=150)
    yield url


@pytest.fixture(scope="module")
def local(crm: str) -> Local:
    """What `supportbot insights run` computes for segments and rules, read as batch.py reads."""
    with crm_session(crm) as store:
        session = store.session
        customers = list(
            session.scalars(
                select(Customer.id)
                .where(Customer.email.not_like(f"%@{ERASED_EMAIL_DOMAIN}"))
                .order_by(Customer.id)
            )
        )
        orders = list(session.scalars(select(Order).where(Order.status.not_in(batch._NOT_REVENUE))))
        interactions = list(
            session.scalars(select(Interaction).where(Interaction.customer_id.is_not(None)))
        )
        tickets = list(session.scalars(select(Ticket).where(Ticket.customer_id.is_not(None))))
        features = batch._segment_features(customers, orders, interactions, tickets, NOW)
        baskets = [sorted({item.sku for item in o.items}) for o in orders if o.items]
        people = list(
            session.execute(select(Customer.name, Customer.email).where(Customer.id.in_(customers)))
        )
    return Local(
        features=features,
        segmentation=segments.segment_customers(features),
        rules=mine_product_rules(
            baskets, min_support=MIN_SUPPORT, min_confidence=MIN_CONFIDENCE, min_lift=MIN_LIFT
        ),
        names=[name for name, _ in people],
        emails=[email for _, email in people],
    )


@pytest.fixture(scope="module")
def exported(crm: str, tmp_path_factory: pytest.TempPathFactory) -> ExportSummary:
    return export_crm(crm, Path(tmp_path_factory.mktemp("export")))


@pytest.fixture(scope="module")
def on_spark(exported: ExportSummary, local: Local) -> SparkInsights:
    # The local k, not Spark's own choice. ClusteringEvaluator scores k with the squared-
    # euclidean silhouette (its only euclidean one), scikit-learn with the euclidean one, and at
    # k=4 Spark's best of ten starts reaches a lower-cost partition than scikit-learn's, with a
    # higher silhouette: on this CRM Spark picks k=4 (0.546 against 0.531 at k=5) where the
    # local job picks k=5. Assignments can only be compared at the same k.
    return run_on_spark(
        exported.directory,
        now=NOW,
        master="local[2]",
        k=local.segmentation.k,
        min_support=MIN_SUPPORT,
        min_confidence=MIN_CONFIDENCE,
        min_lift=MIN_LIFT,
    )


def test_the_export_holds_what_the_job_needs_and_no_personal_data(
    exported: ExportSummary, local: Local
) -> None:
    tables = read_export(exported.directory)
    assert {name: list(frame.columns) for name, frame in tables.items()} == {
        name: list(columns) for name, columns in TABLES.items()
    }
    assert exported.counts["customers"] == len(local.features)
    assert exported.counts["orders"] > exported.counts["customers"]
    text = "\n".join(
        path.read_text() for path in exported.directory.iterdir() if path.is_file()
    ).lower()
    assert not [email for email in local.emails if email.lower() in text]
    assert not [name for name in local.names if name.lower() in text]


def test_the_export_leaves_erased_customers_out_but_keeps_their_baskets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate(url)
    with crm_session(url) as store:
        seed_demo_data(store.session, customers=3, support_history=False)
        # As supportbot.privacy.erasure leaves a customer: an anonymous owner of their orders.
        erased = store.session.get(Customer, 1)
        assert erased is not None
        erased.email, erased.name = f"erased-1@{ERASED_EMAIL_DOMAIN}", "Erased"
    tables = read_export(export_crm(url, tmp_path / "export").directory)
    assert 1 not in set(tables["customers"]["customer_id"]), "no one to segment"
    assert 1 in set(tables["orders"]["customer_id"]), "their baskets still count for the rules"
    assert len(tables["customers"]) >= 3


def test_spark_builds_the_same_features(local: Local, on_spark: SparkInsights) -> None:
    assert list(on_spark.features.index) == list(local.features.index)
    difference = (on_spark.features - local.features.loc[:, list(segments.FEATURES)]).abs()
    assert difference.to_numpy().max() < 1e-6, difference.max()


def test_spark_finds_the_same_segments(local: Local, on_spark: SparkInsights) -> None:
    assert on_spark.k == local.segmentation.k == len(on_spark.centroids)
    assert set(on_spark.labels) == set(range(on_spark.k)), "no segment is empty"
    ours = local.segmentation.labels.loc[on_spark.labels.index]
    # Best of ten seeded k-means|| runs on Spark, best of ten k-means++ starts locally: both
    # reach the lowest-cost partition at this k (300 scikit-learn starts find none lower), so
    # they agree exactly. They agree only as far as both find it: the cost surface has several
    # optima within 0.5% of each other (runs converge; only the start decides). With one
    # customer erased from this CRM, scikit-learn's ten starts end at 426.53 and Spark's at
    # 426.18, the best of 300 starts: ARI 0.96, and Spark's is then the better partition.
    assert adjusted_rand_score(ours, on_spark.labels) == 1.0
    assert sorted(on_spark.sizes.values()) == sorted(local.segmentation.sizes.values())


def test_spark_names_the_segments_as_the_local_job(local: Local, on_spark: SparkInsights) -> None:
    assert set(on_spark.names) == set(local.segmentation.sizes)
    named = on_spark.segments
    assert (named == local.segmentation.labels.loc[named.index]).all()


def test_spark_mines_the_same_rules(local: Local, on_spark: SparkInsights) -> None:
    assert len(local.rules) > 20, "the demo CRM has rules to compare"
    assert len(on_spark.rules) == len(local.rules)
    for ours, theirs in zip(local.rules[:20], on_spark.rules[:20], strict=True):
        assert (theirs.antecedent, theirs.consequent) == (ours.antecedent, ours.consequent)
        assert theirs.support == pytest.approx(ours.support, abs=1e-9)
        assert theirs.confidence == pytest.approx(ours.confidence, abs=1e-9)
        assert theirs.lift == pytest.approx(ours.lift, abs=1e-9)
        assert theirs.count == ours.count
    assert {(r.antecedent, r.consequent) for r in on_spark.rules} == {
        (r.antecedent, r.consequent) for r in local.rules
    }


def test_bad_input_gets_a_readable_error(tmp_path: Path, exported: ExportSummary) -> None:
    with pytest.raises(FileNotFoundError, match="no CRM export"):
        run_on_spark(tmp_path, now=NOW)
    with pytest.raises(ValueError, match="min_support"):
        run_on_spark(exported.directory, now=NOW, min_support=0.0)
    with pytest.raises(ValueError, match="k must be"):
        run_on_spark(exported.directory, now=NOW, k=1)
