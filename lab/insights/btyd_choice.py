"""Which BTYD library: lifetimes or pymc-marketing, fitted to the same CDNOW split.

Not part of the project's environment: pymc-marketing 0.19.2 is the last release for Python 3.11
(1.x needs 3.12) and brings PyMC and PyTensor. Run it in a scratch environment:

    python3.11 -m venv /tmp/btyd && /tmp/btyd/bin/pip install pymc-marketing==0.19.2 \
        lifetimes==0.11.3 scikit-learn pandas
    /tmp/btyd/bin/python lab/insights/btyd_choice.py ../shared/datasets/cdnow/CDNOW_master.txt

It prints the fitted parameters, the holdout scores and the time of each fit; the result is
quoted in reports/insights.md.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data
from sklearn.metrics import roc_auc_score


def main(path: str) -> None:
    raw = pd.read_csv(path, sep=r"\s+", header=0)
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    summary = calibration_and_holdout_data(
        raw,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="W",
        # Without a value column lifetimes 0.11.3 fails on pandas 3 (an empty aggregation).
        monetary_value_col="dollar_value",
    )
    actual = summary["frequency_holdout"].to_numpy()
    horizon = float(summary["duration_holdout"].iloc[0])

    def scores(name: str, predicted: np.ndarray, seconds: float, params: str) -> None:
        mae = np.mean(np.abs(predicted - actual))
        auc = roc_auc_score(actual > 0, predicted)
        print(f"| {name} | {params} | {mae:.3f} | {auc:.3f} | {seconds:.1f} |")

    print("| library | parameters | MAE | AUC | fit + predict (s) |")
    print("| --- | --- | ---: | ---: | ---: |")
    tick = time.perf_counter()
    fitter = BetaGeoFitter().fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    predicted = fitter.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    ).to_numpy()
    params = ", ".join(f"{k} {v:.3f}" for k, v in fitter.params_.items())
    scores("lifetimes 0.11.3 (maximum likelihood)", predicted, time.perf_counter() - tick, params)

    from pymc_marketing.clv import BetaGeoModel

    data = pd.DataFrame(
        {
            "customer_id": summary.index,
            "frequency": summary["frequency_cal"].to_numpy(),
            "recency": summary["recency_cal"].to_numpy(),
            "T": summary["T_cal"].to_numpy(),
        }
    )
    tick = time.perf_counter()
    model = BetaGeoModel(data=data)
    model.fit(method="map")
    expected = model.expected_purchases(data=data, future_t=horizon)
    predicted = np.asarray(expected.mean(dim=[d for d in expected.dims if d != "customer_id"]))
    posterior = model.fit_result  # MAP: one draw per parameter
    params = ", ".join(
        f"{k} {float(posterior[k].mean()):.3f}" for k in ("r", "alpha", "a", "b") if k in posterior
    )
    scores("pymc-marketing 0.19.2 (MAP)", predicted, time.perf_counter() - tick, params)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/cdnow/CDNOW_master.txt")
