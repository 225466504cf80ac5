"""One benchmark cell = one pipeline trained and tested on one dataset, cached as JSON.

A cell trains with `rasa train nlu` in .venv-rasa (wall time, peak RSS by GNU time, DIET's epoch
times read from its progress bar), parses the test set with `python -m lab.nlu_bench.evaluate`
there, and scores the predictions here. Its result lands in `<results>/cells/<key>.json`; a cell
with a result is skipped unless forced, a failed one records its error and is retried next time.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.nlu_bench import datasets, metrics, pipelines
from supportbot.settings import PROJECT_ROOT

Log = Callable[[str], None]
GNU_TIME = Path("/usr/bin/time")
DEFAULT_STOCK_EPOCH_CAP = 5
QUICK_EPOCHS = 40
# `12/40 [01:02<...` in DIET's tqdm bar: epochs done, total, elapsed.
_EPOCH_BAR = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)<")


@dataclass(frozen=True)
class Cell:
    dataset: str
    pipeline: str
    quick: bool = False

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.pipeline}" + ("__quick" if self.quick else "")


@dataclass(frozen=True)
class Options:
    results_dir: Path
    work_dir: Path
    stock_epoch_cap: int | None = DEFAULT_STOCK_EPOCH_CAP
    quick_epochs: int = QUICK_EPOCHS
    force: bool = False
    rasa_venv: Path = PROJECT_ROOT / ".venv-rasa"
    config_path: Path | None = None


def cell_path(results_dir: Path, cell: Cell) -> Path:
    return results_dir / "cells" / f"{cell.key}.json"


def load_result(results_dir: Path, cell: Cell) -> dict[str, Any] | None:
    path = cell_path(results_dir, cell)
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def plan_epochs(
    cell: Cell, options: Options, has_entities: bool
) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """The cell's pipeline, the DIET epochs it trains (None: no DIET), and the cap applied."""
    components = pipelines.for_dataset(
        pipelines.pipeline(cell.pipeline, options.config_path), has_entities
    )
    configured = pipelines.diet_epochs(components)
    if configured is None:
        return components, None, None
    if cell.quick:
        return pipelines.with_epochs(components, options.quick_epochs), options.quick_epochs, None
    cap = options.stock_epoch_cap
    if cell.pipeline == "stock" and cell.dataset in datasets.LARGE and cap and cap < configured:
        return pipelines.with_epochs(components, cap), cap, cap
    return components, configured, None


class _Progress:
    """Passes Rasa's output to a log file and summarises DIET's epoch bar on the console."""

    def __init__(self, label: str, log: Log, started: float) -> None:
        self.label, self.log, self.started = label, log, started
        self.tty = sys.stdout.isatty()
        self.last_print = 0.0
        self.epoch_elapsed: dict[int, float] = {}  # epochs done -> DIET's elapsed seconds
        self.total = 0

    def line(self, text: str) -> None:
        match = _EPOCH_BAR.search(text)
        if not match:
            return
        done, total = int(match[1]), int(match[2])
        hours, minutes, seconds = int(match[3] or 0), int(match[4]), int(match[5])
        self.total = total
        if done == total and done in self.epoch_elapsed:
            return  # tqdm repeats its last update with the final loss
        self.epoch_elapsed.setdefault(done, hours * 3600 + minutes * 60 + seconds)
        now = time.monotonic()
        if now - self.last_print >= (1 if self.tty else 20) or done == total:
            self.last_print = now
            message = f"{self.label}: epoch {done}/{total}, {_clock(now - self.started)}"
            if self.tty:
                print(f"\r{message}   ", end="" if done < total else "\n", flush=True)
            else:
                self.log(message)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _run(
    command: list[str], cwd: Path, log_path: Path, progress: _Progress | None
) -> tuple[float, float | None]:
    """Run under GNU time; returns wall seconds and peak RSS in MB (None without GNU time)."""
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # A private training cache, so nothing is reused between cells or runs.
        "RASA_CACHE_DIRECTORY": str(cwd / "cache"),
    }
    memory_file = cwd / f"{log_path.stem}.maxrss"
    if GNU_TIME.exists():
        command = [str(GNU_TIME), "-f", "%M", "-o", str(memory_file), *command]
    started = time.perf_counter()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert process.stdout is not None
        pending = b""
        while chunk := process.stdout.read1(65536):  # type: ignore[attr-defined]
            log_file.write(chunk)
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            if progress is not None:
                for line in lines:
                    progress.line(line.decode("utf-8", "replace"))
        code = process.wait()
    seconds = time.perf_counter() - started
    if code != 0:
        text = log_path.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        tail = [line for line in text.splitlines() if line.strip()][-15:]
        raise RuntimeError(f"{' '.join(command[-8:])} exited with {code}:\n" + "\n".join(tail))
    peak = None
    if memory_file.exists():
        last = memory_file.read_text().strip().splitlines()[-1:]
        if last and last[0].isdigit():
            peak = int(last[0]) / 1024
    return seconds, peak


def _epoch_timing(progress: _Progress, train_seconds: float, epochs: int) -> dict[str, Any]:
    """Time per epoch after the first (which builds TensorFlow's graph) and a 100-epoch estimate."""
    elapsed = progress.epoch_elapsed
    if not elapsed or progress.total not in elapsed:
        return {}
    diet = float(elapsed[progress.total])
    first = float(elapsed.get(1, diet))
    per_epoch = (diet - first) / (epochs - 1) if epochs > 1 else diet
    rest = train_seconds - diet
    return {
        "diet_seconds": diet,
        "first_epoch_seconds": first,
        "seconds_per_epoch": per_epoch,
        "extrapolated_100_epochs_seconds": rest + first + 99 * per_epoch,
    }


def run_cell(cell: Cell, options: Options, log: Log = print, position: str = "") -> dict[str, Any]:
    """Train and test one cell, or return its cached result."""
    path = cell_path(options.results_dir, cell)
    cached = load_result(options.results_dir, cell)
    label = f"[{position}{' ' if position else ''}{cell.key}]"
    if cached is not None and cached.get("status") == "ok" and not options.force:
        log(f"{label} cached in {path}")
        return cached
    result: dict[str, Any] = {
        "dataset": cell.dataset,
        "pipeline": cell.pipeline,
        "quick": cell.quick,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # Training time means little on a machine busy with other work: the load says how busy.
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
    }
    try:
        split = datasets.load(cell.dataset)
        components, epochs, cap = plan_epochs(cell, options, split.has_entities)
        configured = pipelines.diet_epochs(pipelines.pipeline(cell.pipeline, options.config_path))
        result.update(
            config=components,
            epochs=epochs,
            configured_epochs=configured if epochs is not None else None,
            epoch_cap=cap,
        )
        result.update(_train_and_test(cell, split, options, components, epochs, log, label))
        result["status"] = "ok"
    except Exception as error:  # a failed cell must not stop the run
        result.update(status="error", error=f"{type(error).__name__}: {error}")
        log(f"{label} FAILED: {result['error']}")
    result["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    _write_json(path, result)
    return result


def _train_and_test(
    cell: Cell,
    split: datasets.Split,
    options: Options,
    components: list[dict[str, Any]],
    epochs: int | None,
    log: Log,
    label: str,
) -> dict[str, Any]:
    # Absolute: the commands run inside it, and name files in it.
    work = (options.work_dir / cell.key).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "train.yml").write_text(
        datasets.to_rasa_yaml(split.train, f"{split.name} train split"), encoding="utf-8"
    )
    (work / "config.yml").write_text(pipelines.config_yaml(components), encoding="utf-8")
    cases = datasets.gold_cases(split.test)
    (work / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    venv = options.rasa_venv
    started = time.monotonic()
    log(
        f"{label} training on {len(split.train)} utterances"
        + (f", {epochs} DIET epochs" if epochs else ", no DIET")
        + f" (log: {work / 'train.log'})"
    )
    progress = _Progress(label, log, started)
    train_seconds, train_peak = _run(
        [str(venv / "bin" / "rasa"), "train", "nlu", "--config", "config.yml", "--nlu",
         "train.yml", "--out", "models", "--fixed-model-name", "model"],
        work, work / "train.log", progress,
    )  # fmt: skip
    log(f"{label} trained in {_clock(train_seconds)}; parsing {len(cases)} test messages")
    eval_seconds, eval_peak = _run(
        [str(venv / "bin" / "python"), "-m", "lab.nlu_bench.evaluate", "--model",
         "models/model.tar.gz", "--input", "cases.json", "--output", "predictions.json"],
        work, work / "evaluate.log", None,
    )  # fmt: skip
    output = json.loads((work / "predictions.json").read_text(encoding="utf-8"))
    scores = metrics.score(
        cases,
        output["predictions"],
        has_entities=split.has_entities,
        oos=split.oos,
    )
    # The model (MiniLM's ONNX inside) and the training cache are large: keep only the logs.
    shutil.rmtree(work / "models", ignore_errors=True)
    shutil.rmtree(work / "cache", ignore_errors=True)
    # What DIET really ran (its progress bar): DIETEntityExtractor may raise the epochs.
    ran = (progress.total or epochs) if epochs else None
    log(
        f"{label} done in {_clock(time.monotonic() - started)}: accuracy "
        f"{scores['accuracy']:.2%}, macro-F1 {scores['macro_f1']:.3f}"
    )
    return {
        "train_examples": len(split.train),
        "test_examples": len(split.test),
        "intents": len(split.intents),
        "has_entities": split.has_entities,
        "notes": split.notes,
        "train_seconds": train_seconds,
        "peak_train_mb": train_peak,
        "peak_eval_mb": eval_peak,
        "eval_seconds": eval_seconds,
        "model_load_seconds": output.get("load_seconds"),
        **({"epochs": ran, **_epoch_timing(progress, train_seconds, ran)} if ran else {}),
        **scores,
    }
