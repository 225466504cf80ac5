"""The NLU report's tables from cached cells (no training)."""

from __future__ import annotations

import json
from pathlib import Path

from lab.nlu_bench.report import render


def cell(pipeline: str, loads: tuple[float, float]) -> dict:
    return {
        "dataset": "braun_chatbot",
        "pipeline": pipeline,
        "status": "ok",
        "machine": {"cpus": 2, "load_average_at_start": loads[0], "load_average_at_end": loads[1]},
        "epochs": 40,
        "configured_epochs": 40,
        "train_examples": 100,
        "test_examples": 106,
        "intents": 2,
        "accuracy": 0.98,
        "macro_f1": 0.97,
        "train_seconds": 60.0,
        "p50_ms": 10.0,
        "p95_ms": 12.0,
    }


def test_a_cell_timed_on_a_busy_machine_says_so(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    (cells / "braun_chatbot__stock.json").write_text(json.dumps(cell("stock", (0.3, 0.5))))
    (cells / "braun_chatbot__project.json").write_text(json.dumps(cell("project", (6.8, 7.1))))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert "project: timed on a busy machine (load average 6.8 at the start, 7.1" in report
    assert "stock: timed on a busy machine" not in report


def test_cells_compared_across_two_machines_say_so(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    for pipeline, platform in [("stock", "vm-a"), ("project", "vm-b")]:
        timed = cell(pipeline, (0.1, 0.1))
        timed["machine"]["platform"] = platform
        (cells / f"braun_chatbot__{pipeline}.json").write_text(json.dumps(timed))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert "(2 CPUs, `vm-a`, `vm-b`)" in report
    assert "Timed on different machines (stock on `vm-a`, project on `vm-b`)" in report


def test_cells_on_one_machine_need_no_such_warning(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    for pipeline in ("stock", "project"):
        timed = cell(pipeline, (0.1, 0.1))
        timed["machine"]["platform"] = "vm-a"
        (cells / f"braun_chatbot__{pipeline}.json").write_text(json.dumps(timed))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert "(2 CPUs, `vm-a`)" in report and "different machines" not in report


def test_a_hand_written_timing_note_is_shown_instead(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    paused = {**cell("project", (0.1, 0.1)), "timing_note": "paused for 26 min during training."}
    (cells / "braun_chatbot__project.json").write_text(json.dumps(paused))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert "_project: paused for 26 min during training._" in report


def test_a_cell_without_diet_says_so_instead_of_an_epoch_count(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    no_diet = {**cell("project", (0.1, 0.1)), "epochs": None, "configured_epochs": None}
    (cells / "braun_chatbot__project.json").write_text(json.dumps(no_diet))

    report = render(tmp_path, tmp_path / "nlu.md")

    [row] = [line for line in report.splitlines() if line.startswith("| **project** |")]
    assert "| no DIET |" in row and "None" not in row


def test_the_tuning_cells_show_the_threshold_sweep_with_the_chosen_one(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    clinc = [
        {"threshold": 0.0, "in_scope_accuracy": 0.96, "oos_recall": 0.3},
        {"threshold": 0.25, "in_scope_accuracy": 0.957, "oos_recall": 0.7},
        {"threshold": 0.5, "in_scope_accuracy": 0.90, "oos_recall": 0.9},
    ]
    hwu = [
        {"threshold": 0.0, "in_scope_accuracy": 0.93, "oos_recall": None},
        {"threshold": 0.25, "in_scope_accuracy": 0.928, "oos_recall": None},
        {"threshold": 0.5, "in_scope_accuracy": 0.88, "oos_recall": None},
    ]
    for dataset, sweep in [("clinc150_val", clinc), ("hwu64_dev", hwu)]:
        tuned = {**cell("project", (0.1, 0.1)), "dataset": dataset, "fallback_sweep": sweep}
        (cells / f"{dataset}__project.json").write_text(json.dumps(tuned))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert (
        "| threshold | clinc150_val in-scope acc | clinc150_val OOS recall | "
        "hwu64_dev in-scope acc |" in report
    )
    assert "| **0.25** | 95.70 % | 70.00 % | 92.80 % |" in report
    assert "| 0.50 | 90.00 % | 90.00 % | 88.00 % |" in report
    assert "clinc150_val/stock" not in report  # a tuning set has no stock cell to miss


def test_epochs_raised_for_min_steps_are_shown_with_the_configured_ones(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    raised = {**cell("project", (0.1, 0.1)), "epochs": 846, "configured_epochs": 40}
    (cells / "braun_chatbot__project.json").write_text(json.dumps(raised))

    report = render(tmp_path, tmp_path / "nlu.md")

    [row] = [line for line in report.splitlines() if line.startswith("| **project** |")]
    assert "| 846 (raised from 40 for min_steps) |" in row


def test_accuracy_before_the_fallback_stands_beside_the_one_that_counts_it(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    scored = {
        **cell("project", (0.1, 0.1)),
        "accuracy": 0.9344,
        "fallback_rate": 0.0153,
        "accuracy_without_fallback": 0.9412,
    }
    (cells / "braun_chatbot__project.json").write_text(json.dumps(scored))

    report = render(tmp_path, tmp_path / "nlu.md")

    assert "| fallback | before fallback |" in report
    [row] = [line for line in report.splitlines() if line.startswith("| **project** |")]
    assert "| 93.44 % |" in row and "| 1.53 % | 94.12 % |" in row
