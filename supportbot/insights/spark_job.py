"""Segments and next-best-product rules of the insights batch job on Apache Spark (pyspark).

When the CRM outgrows one machine, two steps of `supportbot insights run` (batch.py) run on
Spark instead: the per-customer segment features and k-means (Spark ML `KMeans`, k by
silhouette), and the association rules over order baskets (Spark ML `FPGrowth`). They compute
what the single-machine job computes: the same features, the same transform (log1p on the
skewed features, z-scores with the population standard deviation), the same rule thresholds
and measures, the same segment names (tests/test_insights_spark.py checks the two agree).

1. `export_crm` writes what the two steps need, and no personal data (ids, timestamps, amounts,
   SKUs, sentiment numbers, ticket kinds; never names, emails or text), one file per table:
   Parquet when pyarrow is installed, else CSV. Copy the directory to storage the cluster reads
   (HDFS, S3) and pass its URI.
2. `run_on_spark` reads the export and returns labels, centroids and rules. It writes nothing
   to the CRM: storing results stays with the single-machine job.

`lab/insights/scale.py` measures both paths on 1x, 10x and 100x customers
(reports/insights-scale.md, with how to run this on a cluster).
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from supportbot.crm.db import session_scope
from supportbot.crm.models import (
    ERASED_EMAIL_DOMAIN,
    Customer,
    Interaction,
    Order,
    OrderItem,
    OrderStatus,
    Ticket,
    TicketKind,
    as_utc,
)
from supportbot.insights import segments

# The single-machine miner's own threshold checks and exact least count: both keep the same
# itemsets.
from supportbot.insights.product_rules import ProductRule, check_thresholds, least_count

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Log = Callable[[str], None]

# What each table of the export holds, in column order (and nothing else).
TABLES: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("customer_id", "order_id", "placed_at", "total", "status"),
    "order_items": ("order_id", "sku"),
    "interactions": ("customer_id", "started_at", "intents", "sentiment_average"),
    "tickets": ("customer_id", "created_at", "kind"),
}
# Spark reads the CSV export with these types (no schema inference: that is a second pass).
_SCHEMAS = {
    "customers": "customer_id BIGINT",
    "orders": "customer_id BIGINT, order_id BIGINT, placed_at STRING, total DOUBLE, status STRING",
    "order_items": "order_id BIGINT, sku STRING",
    "interactions": (
        "customer_id BIGINT, started_at STRING, intents STRING, sentiment_average DOUBLE"
    ),
    "tickets": "customer_id BIGINT, created_at STRING, kind STRING",
}
MANIFEST = "manifest.json"
INTENT_SEPARATOR = "|"  # an interaction's intents, joined (intent names never hold it)
NOT_REVENUE = (OrderStatus.CANCELLED.value, OrderStatus.RETURNED.value)
YEAR = timedelta(days=365)
NO_ORDER_DAYS = 730.0  # days_since_last_order without orders, and its cap (as batch.py)
MAX_RULE_LEN = 3  # antecedent plus consequent, as mine_product_rules' default
_FLOAT_SLACK = 1e-9  # Spark compares float ratios to min_confidence: ask for a little less
_MICROS_PER_DAY = 86_400 * 1_000_000

# k-means on Spark. Each k-means|| run starts once, where scikit-learn keeps the best of ten
# k-means++ starts; on the demo CRM the cost surface has several local optima within 0.5% of
# each other, and which one a run ends in depends only on its start (every run converges long
# before the iteration cap). So, like n_init=10: the best of KMEANS_STARTS seeded runs, lowest
# within-cluster cost. 300 iterations as scikit-learn, and a tolerance on centre moves that
# stops a run only at a fixed point (Spark's default 20 iterations could stop a slow one early).
KMEANS_STARTS = 10
KMEANS_MAX_ITER = 300
KMEANS_TOL = 1e-6
# k-means|| samples each partition with a seed derived from its index: the points go to a
# fixed number of partitions by customer id, in id order, so the same CRM gets the same segments
# on any cluster and any shuffle setting.
POINTS_PER_PARTITION = 1_000_000
MIN_POINT_PARTITIONS = 4
LOCAL_MASTER = "local[2]"


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    format: str  # "parquet" or "csv"
    counts: dict[str, int]  # rows per table


@dataclass(frozen=True, eq=False)
class SparkInsights:
    """What the two steps found on Spark (nothing of it is stored)."""

    features: pd.DataFrame  # index customer_id, columns segments.FEATURES, own units
    labels: pd.Series  # customer_id -> cluster id, 0..k-1
    k: int
    silhouettes: dict[int, float]  # Spark's squared-euclidean silhouette per k tried
    centroids: np.ndarray  # k rows in z-space, columns segments.FEATURES
    names: tuple[str, ...]  # segment name per cluster id
    rules: list[ProductRule]  # strongest lift first, as mine_product_rules
    baskets: int
    master: str
    seconds: dict[str, float] = field(default_factory=dict)  # startup, features, ...

    @property
    def segments(self) -> pd.Series:
        """customer_id -> segment name."""
        return self.labels.map(dict(enumerate(self.names))).rename("segment")

    @property
    def sizes(self) -> dict[str, int]:
        counts = self.labels.value_counts()
        return {name: int(counts.get(i, 0)) for i, name in enumerate(self.names)}


# -- the export ---------------------------------------------------------------------------


def export_crm(url: str | None, directory: Path) -> ExportSummary:
    """Write the export of the CRM at `url` (default: the configured one) into `directory`."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file; the export needs a directory")
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with session_scope(url) as session:
        # Erased customers stay as anonymous owners of their orders (their baskets count for
        # the rules), but are no one to segment: batch.py leaves them out the same way.
        tables["customers"] = [
            (c,)
            for c in session.scalars(
                select(Customer.id)
                .where(Customer.email.not_like(f"%@{ERASED_EMAIL_DOMAIN}"))
                .order_by(Customer.id)
            )
        ]
        tables["orders"] = [
            (customer, order, _iso(placed), total, status.value)
            for customer, order, placed, total, status in session.execute(
                select(
                    Order.customer_id, Order.id, Order.placed_at, Order.total, Order.status
                ).order_by(Order.id)
            )
        ]
        tables["order_items"] = [
            (order, sku)
            for order, sku in session.execute(
                select(OrderItem.order_id, OrderItem.sku).order_by(OrderItem.id)
            )
        ]
        tables["interactions"] = [
            (customer, _iso(started), _join_intents(intents), mood)
            for customer, started, intents, mood in session.execute(
                select(
                    Interaction.customer_id,
                    Interaction.started_at,
                    Interaction.intents,
                    Interaction.sentiment_average,
                )
                .where(Interaction.customer_id.is_not(None))
                .order_by(Interaction.id)
            )
        ]
        tables["tickets"] = [
            (customer, _iso(created), kind.value)
            for customer, created, kind in session.execute(
                select(Ticket.customer_id, Ticket.created_at, Ticket.kind)
                .where(Ticket.customer_id.is_not(None))
                .order_by(Ticket.id)
            )
        ]
    return write_export(tables, directory)


def write_export(
    tables: Mapping[str, pd.DataFrame | list[tuple[Any, ...]]], directory: Path
) -> ExportSummary:
    """Write each table (a frame with TABLES' columns, or rows in their order) as an export;
    the lab writes its larger synthetic CRMs with it."""
    if set(tables) != set(TABLES):
        raise ValueError(f"an export has the tables {', '.join(TABLES)}, got {sorted(tables)}")
    directory.mkdir(parents=True, exist_ok=True)
    kind = "parquet" if _has_pyarrow() else "csv"
    counts: dict[str, int] = {}
    for name, columns in TABLES.items():
        rows = tables[name]
        if isinstance(rows, pd.DataFrame):
            missing = [column for column in columns if column not in rows.columns]
            if missing:
                raise ValueError(f"the {name} table lacks {', '.join(missing)}")
            frame = rows.loc[:, list(columns)]
        else:
            frame = pd.DataFrame.from_records(rows, columns=list(columns))
        target = directory / f"{name}.{kind}"
        partial = target.with_name(target.name + ".partial")
        # Written aside and renamed, so a reader never sees half a table.
        if kind == "parquet":
            frame.to_parquet(partial, index=False)
        else:
            frame.to_csv(partial, index=False)
        partial.replace(target)
        counts[name] = len(frame)
    manifest = {
        "format": kind,
        "counts": counts,
        "columns": {k: list(v) for k, v in TABLES.items()},
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportSummary(directory, kind, counts)


def read_export(directory: Path) -> dict[str, pd.DataFrame]:
    """The export's tables as pandas frames (the single-machine path of the lab reads it)."""
    kind = _local_format(Path(directory))
    frames = {}
    for name, columns in TABLES.items():
        path = Path(directory) / f"{name}.{kind}"
        if kind == "parquet":
            frames[name] = pd.read_parquet(path, columns=list(columns))
        else:
            frames[name] = pd.read_csv(
                path, dtype={"sku": str, "intents": str, "status": str, "kind": str}
            )
    return frames


def _iso(moment: datetime) -> str:
    # ISO 8601 with the offset: Spark and pandas read it as the same instant on any time zone.
    return as_utc(moment).astimezone(UTC).isoformat(timespec="microseconds")


def _join_intents(intents: list[str] | None) -> str:
    names = [str(name) for name in intents or []]
    for name in names:
        if INTENT_SEPARATOR in name:
            raise ValueError(f"intent name {name!r} holds {INTENT_SEPARATOR!r}; cannot export it")
    return INTENT_SEPARATOR.join(names)


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _local_format(directory: Path) -> str:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{directory} holds no CRM export ({MANIFEST} is missing); "
            "write one with `supportbot insights export DIR`"
        )
    kind = str(json.loads(manifest.read_text()).get("format"))
    if kind not in ("csv", "parquet"):
        raise ValueError(f"{manifest} names an unknown format {kind!r}")
    missing = [name for name in TABLES if not (directory / f"{name}.{kind}").is_file()]
    if missing:
        raise FileNotFoundError(f"the export in {directory} lacks {', '.join(missing)}")
    return kind


# -- Spark ---------------------------------------------------------------------------------


def start_session(master: str = LOCAL_MASTER) -> SparkSession:
    """A SparkSession for the job: quiet, no UI, UTC, nothing downloaded (no jars.packages)."""
    if not master.strip():
        raise ValueError("the Spark master is empty; pass e.g. local[2] or spark://host:7077")
    with warnings.catch_warnings():
        # pyspark 4.3 warns that it is not yet tested on pandas 3; what this job uses works.
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(master)
            .appName("supportbot-insights")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
        )
        if master.startswith("local"):
            # A few cores: the default of 200 shuffle partitions would be mostly empty tasks.
            builder = builder.config("spark.sql.shuffle.partitions", "4").config(
                "spark.driver.host", "127.0.0.1"
            )
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs every connection it closes at INFO.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return spark


@contextmanager
def _session(master: str, say: Log) -> Iterator[SparkSession]:
    """The running session if there is one (it stays running), else one of our own that is
    stopped at the end."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if active.sparkContext.master != master:
            say(f"using the running Spark session on {active.sparkContext.master}, not {master}")
        yield active
        return
    spark = start_session(master)
    try:
        yield spark
    finally:
        spark.stop()


def run_on_spark(
    directory: Path | str,
    *,
    now: datetime,
    master: str = LOCAL_MASTER,
    k: int | None = None,
    min_support: float = 0.01,
    min_confidence: float = 0.2,
    min_lift: float = 1.2,
    log: Log | None = None,
) -> SparkInsights:
    """Segments and product rules of the export in `directory` (a local path, or a URI the
    cluster reads such as hdfs://... or s3a://...), computed on Spark at `master`.

    k: the number of segments, else the best silhouette over segments.K_CHOICES.
    """
    say = log or (lambda _line: None)
    check_thresholds(min_support, min_confidence, min_lift, MAX_RULE_LEN)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    location = str(directory)
    remote = "://" in location
    kind = None if remote else _local_format(Path(directory))
    moment = as_utc(now)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with _session(master, say) as spark:
        seconds["startup"] = time.perf_counter() - started
        say(f"Spark {spark.version} on {spark.sparkContext.master}")
        tables = _read_tables(spark, location, kind)

        clock = time.perf_counter()
        features = spark_segment_features(tables, moment).cache()
        customers = features.count()
        seconds["features"] = time.perf_counter() - clock
        say(f"features of {customers:,} customers")
        if customers < max(segments.K_CHOICES) * 3:
            features.unpersist()
            raise ValueError(f"segments need at least {max(segments.K_CHOICES) * 3} customers")

        clock = time.perf_counter()
        fitted = _segment(features, k, say)
        seconds["segments"] = time.perf_counter() - clock
        features.unpersist()

        clock = time.perf_counter()
        rules, baskets = _mine_rules(tables, min_support, min_confidence, min_lift)
        seconds["rules"] = time.perf_counter() - clock
        say(f"{len(rules)} rules from {baskets:,} baskets")
    frame, labels, chosen, silhouettes, centroids = fitted
    return SparkInsights(
        features=frame,
        labels=labels,
        k=chosen,
        silhouettes=silhouettes,
        centroids=centroids,
        names=tuple(segments.name_centroids(centroids)),
        rules=rules,
        baskets=baskets,
        master=master,
        seconds={name: round(value, 3) for name, value in seconds.items()},
    )


def _read_tables(spark: SparkSession, location: str, kind: str | None) -> dict[str, DataFrame]:
    if kind is None:
        # On cluster storage the manifest is read through Spark (Python cannot open hdfs://).
        row = spark.read.option("multiLine", True).json(f"{location}/{MANIFEST}").first()
        kind = str(row["format"]) if row is not None else ""
        if kind not in ("csv", "parquet"):
            raise ValueError(f"{location}/{MANIFEST} names an unknown format {kind!r}")
    tables = {}
    for name in TABLES:
        path = f"{location.rstrip('/')}/{name}.{kind}"
        if kind == "parquet":
            tables[name] = spark.read.parquet(path)
        else:
            tables[name] = (
                spark.read.schema(_SCHEMAS[name])
                .option("header", True)
                .option("mode", "FAILFAST")  # a malformed row stops the job, never drops out
                .csv(path)
            )
    return tables


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def spark_segment_features(tables: dict[str, DataFrame], now: datetime) -> DataFrame:
    """customer_id and segments.FEATURES, defined as batch._segment_features defines them."""
    from pyspark.sql import functions as F

    now_us = _micros(as_utc(now))
    year_ago_us = _micros(as_utc(now) - YEAR)

    def at(column: str) -> Any:
        return F.unix_micros(F.to_timestamp(F.col(column)))

    orders = (
        tables["orders"]
        .where(~F.col("status").isin(*NOT_REVENUE))
        .select("customer_id", "total", at("placed_at").alias("at_us"))
    )
    in_year = F.col("at_us") >= F.lit(year_ago_us)
    buying = orders.groupBy("customer_id").agg(
        F.sum(F.when(in_year, F.col("total")).otherwise(F.lit(0.0))).alias("spend_last_year"),
        F.sum(F.when(in_year, 1).otherwise(0)).cast("double").alias("orders_last_year"),
        F.max("at_us").alias("last_us"),
        F.min("at_us").alias("first_us"),
    )
    conversations = (
        tables["interactions"]
        .where(F.col("customer_id").isNotNull())
        .select(
            "customer_id",
            "sentiment_average",
            at("started_at").alias("at_us"),
            F.array_contains(
                F.split(F.coalesce(F.col("intents"), F.lit("")), "\\" + INTENT_SEPARATOR),
                "complaint",
            ).alias("complaint"),
        )
        .groupBy("customer_id")
        .agg(
            F.sum(F.when(in_year, 1).otherwise(0)).alias("conversations"),
            F.sum(F.when(in_year & F.col("complaint"), 1).otherwise(0)).alias("complained"),
            F.avg("sentiment_average").alias("mood"),  # nulls are left out, as batch.py does
        )
    )
    tickets = (
        tables["tickets"]
        .where(F.col("customer_id").isNotNull())
        .select("customer_id", "kind", at("created_at").alias("at_us"))
        .groupBy("customer_id")
        .agg(
            F.sum(F.when(in_year, 1).otherwise(0)).alias("tickets"),
            F.sum(
                F.when(in_year & (F.col("kind") == TicketKind.COMPLAINT.value), 1).otherwise(0)
            ).alias("ticket_complaints"),
        )
    )
    joined = (
        tables["customers"]
        .select("customer_id")
        .distinct()
        .join(buying, "customer_id", "left")
        .join(conversations, "customer_id", "left")
        .join(tickets, "customer_id", "left")
    )
    # Seconds over 86,400 as doubles, as timedelta.total_seconds() / 86400 in batch.py.
    days_since = (F.lit(now_us) - F.col("last_us")).cast("double") / 1e6 / 86400.0
    tenure = F.floor((F.lit(now_us) - F.col("first_us")).cast("double") / _MICROS_PER_DAY)
    zero = F.lit(0.0)
    return joined.select(
        "customer_id",
        F.coalesce(F.col("spend_last_year"), zero).alias("spend_last_year"),
        F.coalesce(F.col("orders_last_year"), zero).alias("orders_last_year"),
        F.when(F.col("last_us").isNull(), F.lit(NO_ORDER_DAYS))
        .otherwise(F.least(F.lit(NO_ORDER_DAYS), F.greatest(zero, days_since)))
        .alias("days_since_last_order"),
        F.coalesce(tenure.cast("double"), zero).alias("tenure_days"),
        (F.coalesce(F.col("conversations"), F.lit(0)) + F.coalesce(F.col("tickets"), F.lit(0)))
        .cast("double")
        .alias("contacts_last_year"),
        (
            F.coalesce(F.col("complained"), F.lit(0))
            + F.coalesce(F.col("ticket_complaints"), F.lit(0))
        )
        .cast("double")
        .alias("complaints_last_year"),
        F.coalesce(F.col("mood"), zero).alias("mood"),
    )


def _z_points(features: DataFrame) -> DataFrame:
    """customer_id, the raw features and `point`: the vector segments.z_scores computes."""
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F

    transformed = features.select(
        "customer_id",
        *segments.FEATURES,
        *[
            (
                F.log1p(F.greatest(F.col(name), F.lit(0.0)))
                if name in segments.SKEWED
                else F.col(name)
            ).alias(f"t_{name}")
            for name in segments.FEATURES
        ],
    )
    moments = transformed.agg(
        F.count(F.lit(1)).alias("n"),
        *[F.avg(f"t_{name}").alias(f"mean_{name}") for name in segments.FEATURES],
        *[F.var_pop(f"t_{name}").alias(f"var_{name}") for name in segments.FEATURES],
    ).first()
    assert moments is not None  # an aggregate always has its row
    scaled = []
    for name in segments.FEATURES:
        mean, var = float(moments[f"mean_{name}"]), float(moments[f"var_{name}"])
        scale = 1.0 if _is_constant(var, mean, int(moments["n"])) else math.sqrt(var)
        scaled.append(((F.col(f"t_{name}") - F.lit(mean)) / F.lit(scale)).alias(f"z_{name}"))
    partitions = max(MIN_POINT_PARTITIONS, math.ceil(int(moments["n"]) / POINTS_PER_PARTITION))
    zs = (
        transformed.select("customer_id", *segments.FEATURES, *scaled)
        .repartition(partitions, "customer_id")
        .sortWithinPartitions("customer_id")
    )
    assembler = VectorAssembler(
        inputCols=[f"z_{name}" for name in segments.FEATURES], outputCol="point"
    )
    return assembler.transform(zs).select("customer_id", *segments.FEATURES, "point")


def _is_constant(var: float, mean: float, n: int) -> bool:
    # StandardScaler's test for a constant feature (its scale is then 1, not 0).
    eps = float(np.finfo(np.float64).eps)
    return var <= n * eps * var + (n * mean * eps) ** 2


def _segment(
    features: DataFrame, k: int | None, say: Log
) -> tuple[pd.DataFrame, pd.Series, int, dict[int, float], np.ndarray]:
    from pyspark.ml.evaluation import ClusteringEvaluator

    points = _z_points(features).cache()
    evaluator = ClusteringEvaluator(
        featuresCol="point",
        predictionCol="cluster",
        metricName="silhouette",
        distanceMeasure="squaredEuclidean",
    )
    silhouettes: dict[int, float] = {}
    models = {}
    try:
        for choice in [k] if k is not None else list(segments.K_CHOICES):
            models[choice] = _fit_kmeans(points, choice)
            if k is None:
                scored = models[choice].transform(points)
                silhouettes[choice] = round(float(evaluator.evaluate(scored)), 4)
        chosen = k if k is not None else max(silhouettes, key=lambda c: (silhouettes[c], -c))
        if silhouettes:
            say(f"silhouettes {silhouettes}: k={chosen}")
        model = models[chosen]
        rows = model.transform(points).select("customer_id", *segments.FEATURES, "cluster")
        collected = rows.collect()
    finally:
        points.unpersist()
    frame = pd.DataFrame.from_records(
        [tuple(row) for row in collected], columns=["customer_id", *segments.FEATURES, "cluster"]
    ).set_index("customer_id")
    frame = frame.sort_index()
    labels = frame.pop("cluster").astype(int).rename("cluster")
    centroids = np.array([np.asarray(c, dtype=float) for c in model.clusterCenters()])
    return frame.astype(float), labels, chosen, silhouettes, centroids


def _fit_kmeans(points: DataFrame, k: int) -> Any:
    """The lowest-cost of KMEANS_STARTS seeded k-means runs (ties: the lowest seed)."""
    from pyspark.ml.clustering import KMeans

    def fit(seed: int) -> Any:
        return KMeans(
            k=k,
            seed=seed,
            maxIter=KMEANS_MAX_ITER,
            tol=KMEANS_TOL,
            featuresCol="point",
            predictionCol="cluster",
        ).fit(points)

    # The runs are independent small jobs: submitted together, they keep the executors busy.
    with ThreadPoolExecutor(max_workers=4) as pool:
        models = list(pool.map(fit, [segments.SEED + start for start in range(KMEANS_STARTS)]))
    return min(models, key=lambda model: model.summary.trainingCost)


def _mine_rules(
    tables: dict[str, DataFrame], min_support: float, min_confidence: float, min_lift: float
) -> tuple[list[ProductRule], int]:
    """FP-growth over the baskets of non-cancelled, non-returned orders, as batch.py mines."""
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    kept = tables["orders"].where(~F.col("status").isin(*NOT_REVENUE)).select("order_id")
    baskets = (
        tables["order_items"]
        .join(kept, "order_id")
        .groupBy("order_id")
        .agg(F.array_sort(F.collect_set("sku")).alias("items"))
        .cache()
    )
    try:
        total = baskets.count()
        if total == 0:
            return [], 0
        least = least_count(min_support, total)
        model = FPGrowth(
            itemsCol="items",
            # Spark keeps itemsets in ceil(minSupport * n) baskets: half a basket below the
            # least qualifying count keeps exactly those at or above it (mine_product_rules).
            minSupport=(least - 0.5) / total,
            minConfidence=max(0.0, min_confidence - _FLOAT_SLACK),
        ).fit(baskets)
        counts = {
            tuple(sorted(row["items"])): int(row["freq"])
            for row in model.freqItemsets.where(F.size("items") <= MAX_RULE_LEN).collect()
        }
        candidates = (
            model.associationRules.where(F.size("antecedent") <= MAX_RULE_LEN - 1)
            .select("antecedent", "consequent")
            .collect()
        )
    finally:
        baskets.unpersist()
    rules = []
    for row in candidates:
        antecedent = tuple(sorted(row["antecedent"]))
        consequent = str(row["consequent"][0])
        # Measures from exact basket counts, the same ratios mine_product_rules computes.
        together = counts[tuple(sorted((*antecedent, consequent)))]
        with_antecedent, with_consequent = counts[antecedent], counts[(consequent,)]
        confidence = together / with_antecedent
        lift = together * total / (with_antecedent * with_consequent)
        if confidence < min_confidence or lift < min_lift:
            continue
        rules.append(
            ProductRule(antecedent, consequent, together / total, confidence, lift, together)
        )
    rules.sort(key=lambda r: (-r.lift, -r.confidence, r.antecedent, r.consequent))
    return rules, total
