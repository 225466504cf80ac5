"""The insights' segments and rules on one machine and on Spark, at 1x, 10x and 100x customers.

    .venv/bin/python -m lab.insights.scale [--quick]

1x is the demo CRM seeded with 300 customers (`seed_demo_data`, a scratch SQLite database),
exported with `supportbot insights export`'s `export_crm`. Seeding 30,000 customers would take
about five minutes, so 10x and 100x replicate the 1x export instead: copy r of every customer
gets new customer and order ids, every timestamp of the copy moves by a seeded random shift of
up to 3 days either way (never past `now`), every order total by up to 5% either way; baskets,
intents, sentiment and ticket kinds are copied. The shape of the CRM stays the demo's, so the
segments and rules stay comparable; only the volume grows.

For each size, on the same export and at the same k (the one the local job picks at 1x):
- local: read the export with pandas, the features as `batch._segment_features` builds them,
  `segments.z_scores` and scikit-learn KMeans (n_init=10), `mine_product_rules` (mlxtend);
- Spark (local[2]): `run_on_spark`: the same features in Spark SQL, Spark ML KMeans (best of
  ten starts), FPGrowth. One SparkSession for all sizes: its start-up is timed apart, and a
  warm-up run on the 1x export goes first so that 1x is not also timing the JVM's warm-up.
Wall-clock seconds, the median of three runs (one with --quick). Writes
reports/insights-scale.md (not with --quick: 1x and 10x only, printed). A full run takes about
5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar, cast

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from supportbot.crm.models import TicketKind
from supportbot.crm.seed import REFERENCE_DAY, seed_demo_data
from supportbot.insights import batch, segments, spark_job
from supportbot.insights.product_rules import ProductRule, mine_product_rules
from supportbot.settings import PROJECT_ROOT
from supportbot.store import crm_session, migrate

if TYPE_CHECKING:
    from supportbot.crm.models import Interaction, Order, Ticket

REPORT = PROJECT_ROOT / "reports" / "insights-scale.md"
CUSTOMERS = 300
SCALES = (1, 10, 100)
REPEATS = 3
QUICK_SCALES = (1, 10)
NOW = REFERENCE_DAY
JITTER_DAYS = 3.0
JITTER_TOTAL = 0.05
SEED = 20261101
# The thresholds batch.py mines with.
MIN_SUPPORT, MIN_CONFIDENCE, MIN_LIFT = 0.01, 0.2, 1.2
Log = Callable[[str], None]
T = TypeVar("T")


class _Order(NamedTuple):
    customer_id: int
    placed_at: datetime
    total: float


class _Interaction(NamedTuple):
    customer_id: int
    started_at: datetime
    intents: list[str]
    sentiment_average: float | None


class _Ticket(NamedTuple):
    customer_id: int
    created_at: datetime
    kind: TicketKind


@dataclass(frozen=True)
class LocalRun:
    seconds: dict[str, float]  # read, features, kmeans, rules, total
    labels: pd.Series  # customer_id -> cluster
    rules: list[ProductRule]


@dataclass(frozen=True)
class Row:
    scale: int
    customers: int
    orders: int
    baskets: int
    local: dict[str, float]
    spark: dict[str, float]
    ari: float
    same_rules: bool
    rules: int


# -- the synthetic CRMs --------------------------------------------------------------------


def seed_export(directory: Path) -> spark_job.ExportSummary:
    """The 1x CRM: the demo data in a scratch database, exported."""
    url = f"sqlite:///{directory / 'crm.db'}"
    migrate(url)
    with crm_session(url) as crm:
        seed_demo_data(crm.session, customers=CUSTOMERS)
    return spark_job.export_crm(url, directory / "x1")


def replicate(
    base: dict[str, pd.DataFrame], copies: int, directory: Path
) -> spark_job.ExportSummary:
    """Write `copies` jittered copies of the export `base` (copy 0 is the original)."""
    rng = np.random.default_rng(SEED + copies)
    customer_step = int(base["customers"]["customer_id"].max()) + 1
    order_step = int(base["orders"]["order_id"].max()) + 1
    now = pd.Timestamp(NOW)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in spark_job.TABLES}

    def shifted(column: pd.Series) -> pd.Series:
        moments = pd.to_datetime(column, utc=True, format="ISO8601")
        shift = pd.to_timedelta(rng.uniform(-JITTER_DAYS, JITTER_DAYS, len(column)), unit="D")
        moved = (moments + shift).clip(upper=now) if copy else moments
        return moved.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    for copy in range(copies):
        customers = base["customers"].copy()
        customers["customer_id"] += copy * customer_step
        parts["customers"].append(customers)
        orders = base["orders"].copy()
        orders["customer_id"] += copy * customer_step
        orders["order_id"] += copy * order_step
        orders["placed_at"] = shifted(orders["placed_at"])
        if copy:
            factor = rng.uniform(1 - JITTER_TOTAL, 1 + JITTER_TOTAL, len(orders))
            orders["total"] = (orders["total"] * factor).round(2)
        parts["orders"].append(orders)
        items = base["order_items"].copy()
        items["order_id"] += copy * order_step
        parts["order_items"].append(items)
        conversations = base["interactions"].copy()
        conversations["customer_id"] += copy * customer_step
        conversations["started_at"] = shifted(conversations["started_at"])
        parts["interactions"].append(conversations)
        tickets = base["tickets"].copy()
        tickets["customer_id"] += copy * customer_step
        tickets["created_at"] = shifted(tickets["created_at"])
        parts["tickets"].append(tickets)
    return spark_job.write_export(
        {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}, directory
    )


# -- the two paths -------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """An export as batch.py sees the CRM: rows with the attributes it reads, and baskets."""

    customers: list[int]
    orders: list[_Order]
    interactions: list[_Interaction]
    tickets: list[_Ticket]
    baskets: list[list[str]]

    @classmethod
    def read(cls, directory: Path) -> Records:
        tables = spark_job.read_export(directory)
        kept = tables["orders"][~tables["orders"]["status"].isin(spark_job.NOT_REVENUE)]
        conversations, tickets = tables["interactions"], tables["tickets"]
        items = tables["order_items"][tables["order_items"]["order_id"].isin(kept["order_id"])]
        return cls(
            customers=sorted(int(c) for c in tables["customers"]["customer_id"]),
            orders=[
                _Order(int(c), at, float(total))
                for c, at, total in zip(
                    kept["customer_id"], _moments(kept["placed_at"]), kept["total"], strict=True
                )
            ],
            interactions=[
                _Interaction(int(c), at, _intents(intents), None if pd.isna(m) else float(m))
                for c, at, intents, m in zip(
                    conversations["customer_id"],
                    _moments(conversations["started_at"]),
                    conversations["intents"],
                    conversations["sentiment_average"],
                    strict=True,
                )
            ],
            tickets=[
                _Ticket(int(c), at, TicketKind(kind))
                for c, at, kind in zip(
                    tickets["customer_id"],
                    _moments(tickets["created_at"]),
                    tickets["kind"],
                    strict=True,
                )
            ],
            baskets=[sorted(set(skus)) for _, skus in items.groupby("order_id")["sku"]],
        )

    def features(self) -> pd.DataFrame:
        # Duck-typed: the records carry every attribute batch.py reads from the ORM rows.
        return batch._segment_features(
            self.customers,
            cast("list[Order]", self.orders),
            cast("list[Interaction]", self.interactions),
            cast("list[Ticket]", self.tickets),
            NOW,
        )


def run_local(directory: Path, k: int) -> LocalRun:
    """The single-machine job's segments (at k) and rules, from the export."""
    seconds: dict[str, float] = {}
    started = clock = time.perf_counter()
    records = Records.read(directory)
    seconds["read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    features = records.features()
    seconds["features"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=10, random_state=segments.SEED).fit(
        segments.z_scores(features)
    )
    seconds["kmeans"] = time.perf_counter() - clock

    clock = time.perf_counter()
    rules = mine_product_rules(
        records.baskets, min_support=MIN_SUPPORT, min_confidence=MIN_CONFIDENCE, min_lift=MIN_LIFT
    )
    seconds["rules"] = time.perf_counter() - clock
    seconds["total"] = time.perf_counter() - started
    return LocalRun(seconds, pd.Series(model.labels_, index=features.index), rules)


def _intents(value: object) -> list[str]:
    return value.split(spark_job.INTENT_SEPARATOR) if isinstance(value, str) and value else []


def _moments(column: pd.Series) -> list[datetime]:
    return list(pd.to_datetime(column, utc=True, format="ISO8601").dt.to_pydatetime())


def run_spark(directory: Path, k: int) -> tuple[spark_job.SparkInsights, float]:
    clock = time.perf_counter()
    result = spark_job.run_on_spark(
        directory,
        now=NOW,
        master="local[2]",
        k=k,
        min_support=MIN_SUPPORT,
        min_confidence=MIN_CONFIDENCE,
        min_lift=MIN_LIFT,
    )
    return result, time.perf_counter() - clock


def _median(runs: list[T], seconds: Callable[[T], float]) -> T:
    return sorted(runs, key=seconds)[len(runs) // 2]


def _same_rules(ours: list[ProductRule], theirs: list[ProductRule]) -> bool:
    return len(ours) == len(theirs) and all(
        (a.antecedent, a.consequent, a.count) == (b.antecedent, b.consequent, b.count)
        and abs(a.lift - b.lift) < 1e-9
        for a, b in zip(ours, theirs, strict=True)
    )


# -- the benchmark -------------------------------------------------------------------------


def run_benchmark(*, quick: bool = False, report: Path | None = REPORT, log: Log = print) -> str:
    scales = QUICK_SCALES if quick else SCALES
    repeats = 1 if quick else REPEATS
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        base = seed_export(root)
        log(f"1x: {base.counts}")
        frames = spark_job.read_export(base.directory)
        exports = {1: base}
        for scale in scales[1:]:
            exports[scale] = replicate(frames, scale, root / f"x{scale}")
            log(f"{scale}x: {exports[scale].counts}")
        # k as the local job picks it at 1x (silhouette over 3..7); fixed for every size, since
        # an exact silhouette costs n^2 and would dominate at 100x.
        k = segments.segment_customers(Records.read(base.directory).features()).k
        log(f"k={k} (the local job's choice at 1x)")

        clock = time.perf_counter()
        spark = spark_job.start_session("local[2]")
        startup = time.perf_counter() - clock
        log(f"Spark start-up: {startup:.1f} s")
        try:
            _, warm_up = run_spark(base.directory, k)
            log(f"Spark warm-up run on 1x: {warm_up:.1f} s")
            rows = []
            for scale in scales:
                export = exports[scale]
                # The run with the median total of `repeats` (per step: that run's steps).
                local = _median(
                    [run_local(export.directory, k) for _ in range(repeats)],
                    lambda run: run.seconds["total"],
                )
                on_spark, spark_total = _median(
                    [run_spark(export.directory, k) for _ in range(repeats)],
                    lambda run: run[1],
                )
                seconds = dict(on_spark.seconds)
                seconds.pop("startup", None)
                seconds["total"] = spark_total
                ours = local.labels.loc[on_spark.labels.index]
                row = Row(
                    scale=scale,
                    customers=export.counts["customers"],
                    orders=export.counts["orders"],
                    baskets=on_spark.baskets,
                    local=local.seconds,
                    spark=seconds,
                    ari=float(adjusted_rand_score(ours, on_spark.labels)),
                    same_rules=_same_rules(local.rules, on_spark.rules),
                    rules=len(local.rules),
                )
                rows.append(row)
                log(
                    f"{scale}x: {row.customers:,} customers, local {local.seconds['total']:.1f} s,"
                    f" Spark {spark_total:.1f} s, ARI {row.ari:.3f}, same rules {row.same_rules}"
                )
        finally:
            spark.stop()
    text = _markdown(rows, k, startup, warm_up, time.perf_counter() - started, repeats)
    if report is not None and not quick:
        report.write_text(text)
        log(f"Wrote {report}")
    return text


def crossover(rows: list[Row]) -> str:
    """Where Spark in local[2] becomes faster than the single-machine path, in words."""
    for before, row in zip([None, *rows], rows, strict=False):
        if row.spark["total"] < row.local["total"]:
            if before is None:
                return f"Spark is faster already at {row.scale}x ({row.customers:,} customers)"
            # Both lines straight between the two sizes: where they meet.
            span = row.customers - before.customers
            local_slope = (row.local["total"] - before.local["total"]) / span
            spark_slope = (row.spark["total"] - before.spark["total"]) / span
            gap = before.spark["total"] - before.local["total"]
            meet = before.customers + gap / (local_slope - spark_slope)
            return (
                f"between {before.scale}x and {row.scale}x ({before.customers:,} and "
                f"{row.customers:,} customers): Spark is faster at {row.scale}x; interpolating "
                f"both times linearly between the two, they meet near {meet:,.0f} customers "
                f"(~{meet / CUSTOMERS:,.0f}x)"
            )
    if len(rows) < 2:
        return "not reached"
    # Each path as a + b * customers through its two largest measurements.
    small, large = rows[-2], rows[-1]
    span = large.customers - small.customers
    local_slope = (large.local["total"] - small.local["total"]) / span
    spark_slope = (large.spark["total"] - small.spark["total"]) / span
    reached = f"not reached up to {large.scale}x ({large.customers:,} customers)"
    if local_slope <= 0:
        return f"{reached}; the local time did not grow with the data, so no crossover in sight"
    through = f"{small.scale}x and {large.scale}x"
    if spark_slope <= 0:
        # Spark's time did not grow: its data-proportional part is below the noise of its
        # fixed costs. Taking Spark as flat gives the earliest the lines could cross.
        customers = large.customers + (large.spark["total"] - large.local["total"]) / local_slope
        return (
            f"{reached}. Spark's time did not grow between {through} (fixed costs dominate); "
            f"if it stayed flat, the local time (+{local_slope * 1000:.2f} s per 1,000 "
            f"customers) would reach it near {customers:,.0f} customers "
            f"(~{customers / CUSTOMERS:,.0f}x). That is the earliest possible crossover, "
            "extrapolated, not measured"
        )
    if spark_slope >= local_slope:
        return (
            f"{reached}; Spark's time grows at least as fast as the local one between "
            f"{through}, so no crossover is in sight on this machine"
        )
    gap = large.spark["total"] - large.local["total"]
    customers = large.customers + gap / (local_slope - spark_slope)
    return (
        f"{reached}. Extrapolated linearly through {through} "
        f"(local +{local_slope * 1000:.2f} s, Spark +{spark_slope * 1000:.2f} s per 1,000 "
        f"customers), the lines would cross near {customers:,.0f} customers "
        f"(~{customers / CUSTOMERS:,.0f}x): an extrapolation, not a measurement"
    )


def _machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} cores ({model}){memory}"


def _markdown(
    rows: list[Row], k: int, startup: float, warm_up: float, seconds: float, repeats: int
) -> str:
    quick = repeats == 1
    lines = [
        "# Insights at scale: one machine or Spark",
        "",
        "Generated by `.venv/bin/python -m lab.insights.scale"
        + (" --quick" if quick else "")
        + f"` in {seconds / 60:.1f} minutes on {_machine()}. The two steps that "
        "`supportbot/insights/spark_job.py` runs on Apache Spark (pyspark "
        f"{_pyspark_version()}, `local[2]`), segments at k={k} and the next-best-product rules, "
        "against the single-machine job (pandas features as `batch.py` builds them, "
        "scikit-learn KMeans with n_init=10, mlxtend FP-growth) on the same exports.",
        "",
        f"1x is the seeded demo CRM ({CUSTOMERS} customers plus the two named demo customers); "
        "10x and 100x replicate its export: each copy gets new customer and order ids, its "
        f"timestamps move by a seeded random shift of up to {JITTER_DAYS:.0f} days (never past "
        f"the reference day), its order totals by up to {JITTER_TOTAL:.0%}; baskets, intents, "
        "sentiment and ticket kinds are copied. Same shape, more volume.",
        "",
        "## Wall-clock seconds "
        + ("(one run each)" if repeats == 1 else f"(the median of {repeats} runs each)"),
        "",
        "| size | customers | orders | baskets | local: read | features | k-means | rules "
        "| **local** | Spark: features | k-means | rules | **Spark** | ARI | same rules |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows:
        local, spark = row.local, row.spark
        lines.append(
            f"| {row.scale}x | {row.customers:,} | {row.orders:,} | {row.baskets:,} "
            f"| {local['read']:.2f} | {local['features']:.2f} | {local['kmeans']:.2f} "
            f"| {local['rules']:.2f} | **{local['total']:.2f}** "
            f"| {spark['features']:.2f} | {spark['segments']:.2f} | {spark['rules']:.2f} "
            f"| **{spark['total']:.2f}** | {row.ari:.3f} | {'yes' if row.same_rules else 'no'} "
            f"({row.rules}) |"
        )
    lines += [
        "",
        f"Spark start-up (the JVM and the SparkSession, once per job) took {startup:.1f} s and "
        f"is not in the table; nor is a warm-up run on 1x ({warm_up:.1f} s: the JVM compiles "
        "as it goes, so a job's first run is slower). Local "
        "`read` is pandas reading the CSV export and building the rows batch.py reads; on "
        "Spark reading is lazy and counted in `features`. Spark's k-means is the best of ten "
        "seeded runs and includes bringing the labels back to the driver; ARI is the adjusted "
        "Rand index of its assignments against scikit-learn's (1.0: the same segments up to "
        "label names); same rules: the same rules, counts and lifts (rule count in brackets).",
        "",
        "## Crossover",
        "",
        f"Crossover (Spark in `local[2]` faster than one process): {crossover(rows)}.",
        "",
        _cold(rows[-1], startup, warm_up, rows[0]),
        "",
        _why(rows),
        "",
        "## Running it on a cluster",
        "",
        "1. Export the CRM where the cluster can read it: `supportbot insights export DIR` "
        "writes ids, timestamps, amounts, SKUs, sentiment numbers and ticket kinds, never "
        "names, emails or text (CSV, or Parquet where pyarrow is installed). Copy DIR to "
        "shared storage, e.g. `hdfs dfs -put DIR /crm/export` or `aws s3 cp --recursive DIR "
        "s3://bucket/crm/export`.",
        "2. Run against the cluster's master: `supportbot insights spark "
        "hdfs:///crm/export --master spark://host:7077` (or `SUPPORTBOT_SPARK_MASTER`; "
        "`yarn` or `k8s://...` work the same way). Or submit a script that calls "
        "`supportbot.insights.spark_job.run_on_spark` with `spark-submit --master "
        "spark://host:7077 job.py`; a session that is already running is used as it is, "
        "so spark-submit's settings apply. S3 needs the cluster's hadoop-aws setup "
        "(`s3a://` paths); nothing is downloaded at run time (no `spark.jars.packages`).",
        "3. JDBC instead of an export (not wired in yet: `run_on_spark` reads an export): "
        "Spark reads PostgreSQL with `spark.read.jdbc` (a query per table selecting only "
        "the columns in `spark_job.TABLES`, `partitionColumn` on the ids) when the cluster "
        "provides the PostgreSQL JDBC driver jar (`--jars` or the cluster's classpath; "
        "nothing is fetched at run time); only `_read_tables` would change. The export stays "
        "the default: it keeps the cluster away from the production database and from "
        "personal data.",
        "",
        "The job uses no Python UDFs (Spark SQL functions, Spark ML KMeans and FPGrowth): "
        "executors need Java and Spark, not this project's Python packages; the driver "
        "needs supportbot installed.",
        "",
        "The Spark job prints its segments and rules and writes nothing to the CRM: "
        "`supportbot insights run` stays the job that stores insights.",
        "",
    ]
    return "\n".join(lines)


def _cold(largest: Row, startup: float, warm_up: float, first: Row) -> str:
    """The comparison a fresh `supportbot insights spark` process makes, start-up included."""
    cold = largest.spark["total"] + startup
    verdict = "still faster" if cold < largest.local["total"] else "slower"
    return (
        f"Start-up included, as a fresh `supportbot insights spark` pays it: Spark at "
        f"{largest.scale}x takes {cold:.1f} s against {largest.local['total']:.1f} s locally, "
        f"{verdict}; and a fresh JVM's first run is slower still (the warm-up run took "
        f"{warm_up:.1f} s on 1x, against {first.spark['total']:.1f} s once warm)."
    )


def _why(rows: list[Row]) -> str:
    """What the numbers say about where each path spends its time."""
    spark = [row.spark["total"] for row in rows]
    largest = rows[-1]
    loop = largest.local["features"] / largest.local["total"]
    kmeans = largest.spark["segments"] / largest.spark["total"]
    return (
        f"Spark's time hardly moves with size ({min(spark):.1f} to {max(spark):.1f} s from "
        f"{rows[0].scale}x to {largest.scale}x): on one machine with 2 cores, `local[2]` is "
        "the same 2 cores behind a scheduler, and nearly all of its time is the fixed cost of "
        "scheduling and serialising tasks. Most of it is k-means "
        f"({kmeans:.0%} at {largest.scale}x): one job per iteration for each of ten seeded "
        "starts (the best-of-ten that makes its segments agree with scikit-learn's n_init=10). "
        "The local path grows in proportion to the data, and at "
        f"{largest.scale}x {loop:.0%} of it is building the features: batch.py's per-row "
        "Python loop over orders, conversations and tickets (`frame.at` per row). So the "
        "crossover measures that loop as much as Spark: a vectorised pandas feature build "
        "(group-bys) would most likely be much faster (not measured here) and push the "
        "crossover further out. "
        "On a real cluster the data-proportional part spreads over many executors while the "
        "fixed part stays (plus network): the reason to move is a CRM that no longer fits one "
        "machine's memory or nightly window, not speed at these sizes."
    )


def _pyspark_version() -> str:
    import pyspark

    return str(pyspark.__version__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="1x and 10x only; print, write no report"
    )
    args = parser.parse_args(argv)
    text = run_benchmark(quick=args.quick)
    if args.quick:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
