"""The insights job on the seeded demo CRM, reported: what `supportbot insights run` learns there.

Seeds the demo CRM (synthetic: `supportbot/crm/seed.py` documents the process) into a scratch
SQLite database, runs the job as `make run` does, and writes reports/insights-demo.md: the time
split of the churn model next to the BTYD model alone, the segments with their centroids, the
satisfaction model against the hand-set formula, the rules and the complaint themes. CDNOW
(reports/insights.md) is the real evidence; this report shows the same code on the shop's data.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from lab.insights.cdnow import ROOT
from supportbot.crm.seed import REFERENCE_DAY, seed_demo_data
from supportbot.insights import queries
from supportbot.insights.batch import run_insights
from supportbot.store import crm_session, migrate

REPORT = ROOT / "reports" / "insights-demo.md"
CUSTOMERS = 300


def run_demo_report(report: Path | None = REPORT, log: Callable[[str], None] = print) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'demo.db'}"
        migrate(url)
        with crm_session(url) as crm:
            seeded = seed_demo_data(crm.session, customers=CUSTOMERS)
        log(f"Seeded {seeded.customers} customers, {seeded.orders} orders")
        result = run_insights(url, now=REFERENCE_DAY + timedelta(hours=1), progress=log)
        with crm_session(url) as crm:
            view = queries.segments_view(crm.session)
            themes = queries.complaint_themes(crm.session)
            rules = sorted(
                queries.product_rules(crm.session), key=lambda r: (-r.lift, -r.confidence)
            )[:5]
    text = _markdown(seeded.customers, seeded.orders, result.summary, view, themes, rules)
    if report is not None:
        report.write_text(text)
        log(f"Wrote {report}")
    return text


def _markdown(
    customers: int,
    orders: int,
    summary: dict[str, Any],
    view: dict[str, Any],
    themes: list[dict[str, Any]],
    rules: list[Any],
) -> str:
    churn = summary.get("churn", {})
    held_out = churn.get("held_out")
    satisfaction = summary.get("satisfaction", {})
    lines = [
        "# Customer insights on the demo CRM (synthetic)",
        "",
        f"`make bench-insights` seeds the demo CRM ({customers:,} customers, {orders:,} orders, "
        "two years; the generative process is documented in `supportbot/crm/seed.py`) and runs "
        f"`supportbot insights run` on it ({summary.get('seconds', '?')} s). The data is "
        "synthetic: it shows what the job does with the shop's tables, not how well it "
        "predicts real customers (CDNOW, in [insights.md](insights.md), is that evidence).",
        "",
        "## Churn risk",
        "",
    ]
    if held_out:
        lines += [
            f"Time split: trained without the last {summary.get('horizon_weeks')} weeks, judged "
            f"on them ({held_out['customers']} customers, {held_out['bought_again']} bought "
            "again).",
            "",
            "| model | AUC of buying again |",
            "| --- | ---: |",
            f"| BTYD model alone (BG/NBD, or Pareto/NBD where it cannot be fitted) | "
            f"{held_out['bgnbd_auc']:.3f} |",
            f"| project: boosted from it | {held_out['auc']:.3f} |",
            "",
        ]
    else:
        lines += [f"Not scored: {churn}", ""]
    segments = summary.get("segments", {})
    lines += [
        "## Segments",
        "",
        f"k = {segments.get('k')} by silhouette (scores by k: "
        + ", ".join(f"{k}: {v:.3f}" for k, v in segments.get("silhouettes", {}).items())
        + "). Centroids are the segment's medians.",
        "",
        "| segment | customers | spend last year | orders last year | days since last order "
        "| contacts | complaints | mood |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for segment in view["segments"]:
        c = segment["centroid"]
        lines.append(
            f"| {segment['label']} | {segment['size']} | {c['spend_last_year']:,.2f} | "
            f"{c['orders_last_year']:.0f} | {c['days_since_last_order']:.0f} | "
            f"{c['contacts_last_year']:.0f} | {c['complaints_last_year']:.0f} | {c['mood']:+.2f} |"
        )
    chosen = satisfaction.get("chosen")
    lines += [
        "",
        "## Satisfaction",
        "",
        f"Rated conversations: {satisfaction.get('rated')}; the newest "
        f"{satisfaction.get('held_out', 0)} held out.",
        "",
        "| predictor | MAE on the held-out ratings |",
        "| --- | ---: |",
        f"| everyone gets the mean rating | {satisfaction.get('mean_rating_mae', '-')} |",
        f"| hand-set formula (`satisfaction_estimate`) | {satisfaction.get('formula_mae', '-')} |",
        f"| learned (ridge regression) | {satisfaction.get('learned_mae', '-')} |",
        "",
        f"The job uses the **{chosen}** predictor for each customer's predicted satisfaction"
        + (
            ", because it beats the formula on the held-out ratings."
            if chosen == "learned"
            else ", because the learned model did not beat it."
        )
        + " The per-conversation estimate written while a conversation runs is still the "
        "formula.",
        "",
        "## Next-best products: the strongest rules",
        "",
        "| if the order has | suggest | support | confidence | lift |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for rule in rules:
        lines.append(
            f"| {', '.join(rule.antecedent)} | {rule.consequent} | {rule.support:.3f} | "
            f"{rule.confidence:.2f} | {rule.lift:.2f} |"
        )
    lines += [
        "",
        f"{summary.get('rules', {}).get('rules', 0)} rules from "
        f"{summary.get('rules', {}).get('baskets', 0):,} order baskets.",
        "",
        "## Complaint themes",
        "",
        "| theme | mentions | last week vs before | an example |",
        "| --- | ---: | ---: | --- |",
    ]
    for theme in themes:
        example = (theme["examples"] or ["-"])[0].replace("|", "/")
        lines.append(
            f"| {theme['label']} | {theme['volume']} | {theme['change']:+.1f} | {example} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    run_demo_report()
