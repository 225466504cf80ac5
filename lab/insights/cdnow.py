"""`make bench-insights`: the purchase models on CDNOW, next to the field's reference points.

CDNOW (../shared/datasets/cdnow, see its SOURCE.md) is the standard data set for customer-base
models: 23,570 customers' purchases, calibration weeks 1-39, holdout weeks 40-78. In one run this
reproduces the three reference points (naive, BG/NBD, gradient boosting on R, F, T, M), adds a
predict-zero line (it shows what MAE rewards), and scores the project's models
(supportbot.insights.lifetime_value), which train on the calibration period only. Writes
reports/insights.md with calibration and lift charts (reports/insights/*.png).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

from lab.datasets import DatasetMissing, datasets_dir
from supportbot.insights.lifetime_value import BaseModels, PurchaseModel
from supportbot.insights.purchase_history import customers_at

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "insights.md"
CALIBRATION_END = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")
QUICK_CUSTOMERS = 4000
# SOURCE.md's reference points: MAE, RMSE, corr, AUC.
PUBLISHED = {
    "naive": (0.939, 1.842, 0.613, 0.755),
    "BG/NBD": (0.784, 1.463, 0.637, 0.767),
    "gradient boosting on R, F, T, M": (0.823, 1.504, 0.607, 0.764),
}
Log = Callable[[str], None]
# lab/insights/btyd_choice.py, run 2026-12-04 in a separate Python 3.11 environment
# (pymc-marketing is not a project dependency); all 23,570 customers, same split.
BTYD_CHOICE = "\n".join(
    [
        "| library | BG/NBD parameters | MAE | AUC | fit + predict |",
        "| --- | --- | ---: | ---: | ---: |",
        "| lifetimes 0.11.3 (maximum likelihood) | r 0.284, alpha 6.725, a 0.708, b 2.372 "
        "| 0.784 | 0.767 | 0.3 s |",
        "| pymc-marketing 0.19.2 (MAP) | r 0.284, alpha 6.728, a 0.694, b 2.315 | 0.785 | 0.767 "
        "| 2.6 s (28 s on first use: PyTensor compiles) |",
    ]
)


def load_cdnow(path: Path | None = None) -> pd.DataFrame:
    """CDNOW as a purchase history (customer_id, at, value, items)."""
    source = path or datasets_dir() / "cdnow" / "CDNOW_master.txt"
    if not source.exists():
        raise DatasetMissing(
            f"CDNOW is missing at {source}; set SUPPORTBOT_DATASETS_DIR to the folder that holds "
            "cdnow/CDNOW_master.txt"
        )
    raw = pd.read_csv(source, sep=r"\s+", header=0)
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(int),
            "at": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "value": raw["dollar_value"].astype(float),
            "items": raw["number_of_cds"].astype(float),
        }
    )


@dataclass(frozen=True)
class Scores:
    mae: float
    rmse: float
    corr: float
    auc: float

    @classmethod
    def of(cls, predicted: np.ndarray, actual: np.ndarray) -> Scores:
        predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
        varies = predicted.std() > 0
        return cls(
            float(np.mean(np.abs(predicted - actual))),
            float(np.sqrt(np.mean((predicted - actual) ** 2))),
            float(np.corrcoef(predicted, actual)[0, 1]) if varies else float("nan"),
            float(roc_auc_score(actual > 0, predicted)) if varies else 0.5,
        )


def _rftm_boosting(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """SOURCE.md's third reference: boosting on R, F, T, M, 2-fold split by customer. It learns
    from other customers' holdout outcomes, which the project's models never see."""
    features = frame[["recency", "frequency", "T", "monetary_value"]].to_numpy()
    target = frame["purchases_after"].to_numpy()
    predicted = np.zeros(len(frame))
    for train, test in KFold(2, shuffle=True, random_state=seed).split(features):
        model = GradientBoostingRegressor(random_state=seed).fit(features[train], target[train])
        predicted[test] = model.predict(features[test])
    return predicted


def _deciles(predicted: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    """Customers in ten equal groups by prediction (highest first): mean predicted vs actual,
    and the share of holdout buyers each group holds (the lift)."""
    order = np.argsort(-predicted, kind="stable")
    groups = np.array_split(order, 10)
    buyers = max(1, int((actual > 0).sum()))
    base_rate = (actual > 0).mean()
    rows = []
    for rank, index in enumerate(groups, start=1):
        rows.append(
            {
                "decile": rank,
                "predicted": predicted[index].mean(),
                "actual": actual[index].mean(),
                "buyers share": (actual[index] > 0).sum() / buyers,
                "lift": (actual[index] > 0).mean() / base_rate if base_rate else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _charts(deciles: dict[str, pd.DataFrame], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(6, 4.5))
    top = 0.0
    for name, table in deciles.items():
        axis.plot(table["predicted"], table["actual"], marker="o", label=name)
        top = max(top, table["predicted"].max(), table["actual"].max())
    axis.plot([0, top], [0, top], color="grey", linestyle="--", label="perfect calibration")
    axis.set_xlabel("mean predicted repeat purchases (decile)")
    axis.set_ylabel("mean actual repeat purchases in the holdout")
    axis.set_title("CDNOW calibration by decile of prediction")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "calibration.png", dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4.5))
    shares = np.arange(0, 11) / 10
    for name, table in deciles.items():
        axis.plot(
            shares, np.concatenate([[0], table["buyers share"].cumsum()]), marker="o", label=name
        )
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="random order")
    axis.set_xlabel("share of customers contacted, highest prediction first")
    axis.set_ylabel("share of holdout buyers reached")
    axis.set_title("CDNOW lift (cumulative gains)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "lift.png", dpi=110)
    plt.close(figure)
    return ["calibration.png", "lift.png"]


def run_benchmark(
    *, quick: bool = False, report: Path | None = REPORT, seed: int = 0, log: Log = print
) -> tuple[str, bool]:
    """Score every model on the holdout; returns the markdown and whether the project's
    models beat BG/NBD on both MAE and AUC."""
    started = time.perf_counter()
    purchases = load_cdnow()
    if quick:
        ids = np.random.default_rng(seed).choice(
            purchases["customer_id"].unique(), QUICK_CUSTOMERS, replace=False
        )
        purchases = purchases[purchases["customer_id"].isin(ids)]
    log(f"CDNOW: {purchases['customer_id'].nunique():,} customers, {len(purchases):,} purchases")
    holdout = customers_at(purchases, CALIBRATION_END, HOLDOUT_END)
    actual = holdout["purchases_after"].to_numpy()
    horizon = float(holdout["horizon"].iloc[0])

    timings: dict[str, float] = {}
    tick = time.perf_counter()
    base = BaseModels.fit(holdout)
    bgnbd = base.expected_purchases(holdout, horizon).to_numpy()
    timings["BG/NBD"] = time.perf_counter() - tick
    params = base.bgnbd.params_
    log("BG/NBD: " + ", ".join(f"{k}={v:.3f}" for k, v in params.items()))
    naive = (holdout["frequency"] / holdout["T"] * horizon).to_numpy()
    tick = time.perf_counter()
    boosting = _rftm_boosting(holdout, seed)
    timings["gradient boosting on R, F, T, M"] = time.perf_counter() - tick

    log("Training the project's models on the calibration period only...")
    tick = time.perf_counter()
    model = PurchaseModel.fit(purchases, CALIBRATION_END, seed=seed, log=log)
    outlook = model.predict(purchases, CALIBRATION_END, horizon)
    timings["project"] = time.perf_counter() - tick
    frame = outlook.frame.loc[holdout.index]
    project = frame["expected_purchases"].to_numpy()
    project_buys = frame["buys_again"].to_numpy()

    rows = {
        "predict zero (no one buys again)": Scores.of(np.zeros_like(actual), actual),
        "naive": Scores.of(naive, actual),
        "BG/NBD": Scores.of(bgnbd, actual),
        "gradient boosting on R, F, T, M": Scores.of(boosting, actual),
        "project: expected purchases": Scores.of(project, actual),
    }
    buys_auc = float(roc_auc_score(actual > 0, project_buys))
    beats = (
        rows["project: expected purchases"].mae < rows["BG/NBD"].mae
        and max(buys_auc, rows["project: expected purchases"].auc) > rows["BG/NBD"].auc
    )

    value_actual = holdout["value_after"].to_numpy()
    spend_rate = (holdout["monetary_value"] * holdout["frequency"] / holdout["T"]).fillna(0)
    values = {
        "naive (calibration repeat spend rate x 39 weeks)": (spend_rate * horizon).to_numpy(),
        "BG/NBD x Gamma-Gamma": frame["bgnbd_value"].to_numpy(),
        "project: expected purchases x Gamma-Gamma": frame["expected_value"].to_numpy(),
    }
    deciles = {
        "BG/NBD": _deciles(bgnbd, actual),
        "project": _deciles(project, actual),
    }
    charts: list[str] = []
    if report is not None:
        charts = _charts(deciles, report.parent / report.stem)
    reasons = model.churn_reasons(outlook)
    text = _markdown(
        quick=quick,
        customers=len(holdout),
        rows=rows,
        buys_auc=buys_auc,
        values=values,
        value_actual=value_actual,
        deciles=deciles,
        charts=[f"{report.stem}/{name}" for name in charts] if report else [],
        model=model,
        timings=timings,
        examples=_examples(frame, reasons, actual),
        seconds=time.perf_counter() - started,
        beats=beats,
    )
    if report is not None:
        report.write_text(text)
        log(f"Wrote {report}")
    return text, beats


def _examples(frame: pd.DataFrame, reasons: dict, actual: np.ndarray) -> list[str]:
    """Three customers with their churn risk and reasons: the most and least at risk among
    repeat buyers, and one in between."""
    repeaters = frame[frame["frequency"] > 0].sort_values("churn_risk")
    if repeaters.empty:
        return []
    picks = [repeaters.index[-1], repeaters.index[len(repeaters) // 2], repeaters.index[0]]
    bought = pd.Series(actual, index=frame.index)
    lines = []
    for customer in picks:
        row = frame.loc[customer]
        lines.append(
            f"- customer {customer}: churn risk {row['churn_risk']:.1%}, expected "
            f"{row['expected_purchases']:.2f} purchase weeks and {row['expected_value']:,.2f} in "
            f"39 weeks; actually bought in {int(bought[customer])} holdout weeks. Reasons: "
            + "; ".join(reasons.get(customer, []))
            + "."
        )
    return lines


def _value_verdict(values: dict[str, np.ndarray], actual: np.ndarray) -> str:
    project = Scores.of(values["project: expected purchases x Gamma-Gamma"], actual)
    bgnbd = Scores.of(values["BG/NBD x Gamma-Gamma"], actual)
    better = [
        name
        for name, ours, theirs in (
            ("MAE", project.mae, bgnbd.mae),
            ("RMSE", project.rmse, bgnbd.rmse),
        )
        if ours < theirs
    ]
    if len(better) == 2:
        return "Against BG/NBD x Gamma-Gamma the project's value is better on MAE and RMSE."
    if better:
        return (
            f"Against BG/NBD x Gamma-Gamma the project's value is better only on {better[0]}: "
            "the value forecast is not where the boosted model wins."
        )
    return "Against BG/NBD x Gamma-Gamma the project's value is not better."


def _markdown(**parts: Any) -> str:
    rows: dict[str, Scores] = parts["rows"]
    lines = [
        "# Customer insights: purchase models on CDNOW",
        "",
        "Written by `make bench-insights` (`supportbot-lab bench-insights`)"
        + (" in **quick mode** (a sample of customers: not comparable)" if parts["quick"] else "")
        + f". {parts['customers']:,} customers; calibration to {CALIBRATION_END:%Y-%m-%d} "
        f"(weeks 1-39), holdout to {HOLDOUT_END:%Y-%m-%d} (weeks 40-78). Weekly purchase counts "
        "as `lifetimes` makes them. Run time "
        f"{parts['seconds']:.0f} s on this machine (2 cores).",
        "",
        "## Repeat purchases in the holdout",
        "",
        "MAE, RMSE and correlation are of repeat-purchase weeks in the holdout; AUC is of "
        '"buys again in the holdout", ranked by the same prediction. The published column is '
        "SOURCE.md's reference point for the same model on the same split.",
        "",
        "| model | MAE | RMSE | corr | AUC | published MAE / RMSE / corr / AUC |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, score in rows.items():
        published = PUBLISHED.get(name)
        cell = " / ".join(f"{v:.3f}" for v in published) if published else "-"
        lines.append(
            f"| {name} | {score.mae:.3f} | {score.rmse:.3f} | {score.corr:.3f} | "
            f"{score.auc:.3f} | {cell} |"
        )
    lines.append(
        f"| project: P(buys again) (classifier) | - | - | - | {parts['buys_auc']:.3f} | - |"
    )
    project = rows["project: expected purchases"]
    bgnbd = rows["BG/NBD"]
    best_auc = max(parts["buys_auc"], project.auc)
    lines += [
        "",
        f"- **Against BG/NBD, same run:** MAE {project.mae:.3f} vs {bgnbd.mae:.3f}, "
        f"AUC {best_auc:.3f} vs {bgnbd.auc:.3f}: "
        + ("**both better**." if parts["beats"] else "**not better on both**.")
        + f" The goal beyond, AUC >= 0.80, is {'met' if best_auc >= 0.80 else '**missed**'}.",
        "- **What MAE rewards.** Predicting that no one buys again scores MAE "
        f"{rows['predict zero (no one buys again)'].mae:.3f}, level with BG/NBD: most customers "
        "buy nothing in the holdout, and the median of such counts is 0. The models here predict "
        "the expected count (what value forecasts need), so RMSE and the calibration chart matter "
        "as much as MAE.",
        "- **No tuning on the holdout.** The project's models learn from two windows inside the "
        "calibration period (features to an inner cutoff, outcome to week 39), with early "
        "stopping on 20 % of customers held out of those windows. The feature set, the offsets "
        "and the parameters were chosen on that validation share. The holdout was scored once "
        "by a prototype of this code (MAE 0.770, AUC 0.772) and then by this code, with no "
        "change made in between; each rerun of this report scores it again, unchanged.",
        "- **The gradient-boosting reference learns from holdout outcomes** (2-fold split by "
        "customer, as SOURCE.md describes it), which the project's models never see. SOURCE.md "
        "does not say which boosting library or parameters it used; scikit-learn's defaults "
        "reproduce it to within 0.01.",
        "",
        "## Expected value (CLV) over the 39 holdout weeks",
        "",
        "| model | MAE | RMSE | corr | total predicted / actual |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    actual = parts["value_actual"]
    for name, predicted in parts["values"].items():
        score = Scores.of(predicted, actual)
        lines.append(
            f"| {name} | {score.mae:.2f} | {score.rmse:.2f} | {score.corr:.3f} | "
            f"{predicted.sum() / actual.sum():.2f} |"
        )
    lines += [
        "",
        "Gamma-Gamma (`lifetimes.GammaGammaFitter`) gives each customer's expected spend per "
        "purchase from their repeat purchases; the value is that times the expected purchase "
        "weeks, undiscounted (39 weeks). " + _value_verdict(parts["values"], actual),
        "",
        "## Calibration and lift",
        "",
    ]
    for chart in parts["charts"]:
        lines.append(f"![{chart}]({chart})")
    lines += ["", "Deciles of the prediction, highest first (the charts' data):", ""]
    lines.append(
        "| decile | BG/NBD predicted | BG/NBD actual | project predicted | project actual "
        "| project share of buyers | project lift |"
    )
    lines.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    bg, pr = parts["deciles"]["BG/NBD"], parts["deciles"]["project"]
    for i in range(len(pr)):
        lines.append(
            f"| {i + 1} | {bg['predicted'][i]:.2f} | {bg['actual'][i]:.2f} | "
            f"{pr['predicted'][i]:.2f} | {pr['actual'][i]:.2f} | {pr['buyers share'][i]:.1%} | "
            f"{pr['lift'][i]:.2f} |"
        )
    model: PurchaseModel = parts["model"]
    lines += [
        "",
        "## Explanations",
        "",
        "Each customer's churn risk comes with the features that moved it most (tree SHAP "
        "contributions of the buys-again model, LightGBM's `pred_contrib`), as sentences:",
        "",
        *parts["examples"],
        "",
        "## Choices",
        "",
        "- **BTYD library: `lifetimes` 0.11.3**, not `pymc-marketing`. Measured on the same "
        "split (`lab/insights/btyd_choice.py`, in a separate environment):",
        "",
        BTYD_CHOICE,
        "",
        "  Both give the same model and the same scores. lifetimes reproduces SOURCE.md's "
        "reference points exactly, fits in a tenth of the time and needs only pandas, scipy and "
        "autograd; pymc-marketing's releases since 0.19.3 need Python 3.12 (the application "
        "runs on 3.11) and bring PyMC and PyTensor, which compiles C at run time. Its strength, "
        "full Bayesian posteriors, is not used here. lifetimes is in maintenance mode, so the "
        "BTYD calls stay behind `BaseModels` in `supportbot/insights/lifetime_value.py`.",
        "- **Boosting: LightGBM 4.7**: an offset (`init_score`) to boost from BG/NBD, a Poisson "
        "objective for counts, and tree SHAP built in for the reasons.",
        f"- Training: {model.trained.get('rows', 0):,} window rows; parameters "
        f"`{model.trained.get('params', {})}`.",
        "",
        "Time per step (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in parts["timings"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)
