"""`supportbot-lab bench-nlu`: run the (dataset, pipeline) cells in turn, then write the report."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.nlu_bench.cells import DEFAULT_STOCK_EPOCH_CAP, Cell, Log, Options, run_cell
from lab.nlu_bench.datasets import BRAUN_CORPORA
from lab.nlu_bench.pipelines import PIPELINES
from lab.nlu_bench.report import write as write_report
from supportbot.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "reports" / "nlu"
REPORT = PROJECT_ROOT / "reports" / "nlu.md"
WORK = PROJECT_ROOT / "var" / "bench"
# --quick writes under var/, never into reports/: CI must not dirty the repository.
QUICK_RESULTS = WORK / "quick"


@dataclass(frozen=True)
class Outcome:
    results: list[dict[str, Any]]
    report_path: Path

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("status") != "ok"]


def expand(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for dataset in list(BRAUN_CORPORA) if name == "braun" else [name]:
            if dataset not in out:
                out.append(dataset)
    return out


def run(
    dataset_names: Sequence[str] = ("bitext", "braun", "banking77", "hwu64", "clinc150"),
    pipeline_names: Sequence[str] = PIPELINES,
    *,
    quick: bool = False,
    stock_epoch_cap: int | None = DEFAULT_STOCK_EPOCH_CAP,
    force: bool = False,
    results_dir: Path | None = None,
    work_dir: Path | None = None,
    report_path: Path | None = None,
    config_path: Path | None = None,
    log: Log = print,
) -> Outcome:
    if report_path is None:
        # reports/nlu.md only for the documented full run; elsewhere next to its cells.
        report_path = REPORT if results_dir is None and not quick else None
    if work_dir is None:
        # Runs into other folders (other configs) get their own working folders.
        work_dir = WORK / "cells" if results_dir is None else results_dir / "work"
    results_dir = results_dir or (QUICK_RESULTS if quick else RESULTS)
    report_path = report_path or results_dir / "nlu.md"
    options = Options(
        results_dir=results_dir,
        work_dir=work_dir,
        stock_epoch_cap=stock_epoch_cap,
        force=force,
        config_path=config_path,
    )
    names = ["bitext_quick"] if quick else expand(dataset_names)
    cells = [Cell(d, p, quick) for d in names for p in pipeline_names]
    started = time.monotonic()
    results = []
    for number, cell in enumerate(cells, 1):
        results.append(run_cell(cell, options, log, position=f"{number}/{len(cells)}"))
    log(f"{len(cells)} cells in {time.monotonic() - started:.0f} s")
    text = write_report(results_dir, report_path, quick=quick)
    print(text)
    log(f"wrote {report_path}")
    return Outcome(results, report_path)
