"""reports/nlu.md: one table per dataset, both pipelines and the published baselines.

Built from every cached cell, so runs spread over several sessions add up. Confusion plots of
the most confused intents are written as plain SVG next to the cells (no plotting library).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from lab.nlu_bench.metrics import choose_threshold

TITLES = {
    "bitext_quick": "Bitext, quick subset (CI)",
    "bitext": "Bitext customer support (train split -> test split)",
    "braun_askubuntu": "Braun 2017: AskUbuntu",
    "braun_chatbot": "Braun 2017: Chatbot",
    "braun_webapps": "Braun 2017: WebApplications",
    "banking77": "BANKING77",
    "hwu64": "HWU64 (KFold_1 standard split)",
    "clinc150": "CLINC150 (full, out-of-scope as a class)",
    "clinc150_val": "CLINC150 validation split (where the fallback threshold is chosen)",
    "hwu64_dev": "HWU64 fold 2 (where the entity extractor's settings and the fallback "
    "threshold are chosen)",
    "hwu64_dev_small": "HWU64 fold 2 after training on 100 utterances (small-data tuning)",
}
# Sets for tuning the project's pipeline, not for comparing it with the stock one.
TUNING = frozenset({"clinc150_val", "hwu64_dev", "hwu64_dev_small"})
# The full-size tuning sets the fallback threshold is chosen on, one with out-of-scope queries
# and one without. (After 100 utterances no fixed threshold fits: most answers are unsure.)
THRESHOLD_SETS = ("clinc150_val", "hwu64_dev")
ORDER = list(TITLES)


@dataclass(frozen=True)
class Baseline:
    system: str
    accuracy: float | None = None  # fractions, like the cells
    entity_f1: float | None = None  # the published ones (HWU64) count partial overlaps
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None


_BRAUN_NOTE = (
    "Braun et al. 2017 intent-classification F1 per corpus, as extracted by Botfuel "
    "(secondary; a micro F1, close to accuracy), shown in the accuracy column."
)
# Transcribed from ../shared/datasets/*/SOURCE.md (see the provenance notes there).
BASELINES: dict[str, tuple[list[Baseline], str]] = {
    "banking77": (
        [Baseline("BERT-Tuned (2020)", 0.9366), Baseline("USE+ConveRT (2020)", 0.9336)],
        "Casanueva et al. 2020, Table 3, full training data (secondary but consistent sources).",
    ),
    "hwu64": (
        [
            Baseline("Rasa spacy_sklearn + ner_crf (2018)", 0.863, 0.768),
            Baseline("Dialogflow", 0.864, 0.743),
            Baseline("LUIS", 0.855, 0.777),
            Baseline("IBM Watson", 0.882, 0.488),
        ],
        "Liu et al. 2019: 10-fold cross-validation (not KFold_1 alone), micro-F1 shown in the "
        "accuracy column; their entity F1 counts a partial overlap with the right type as a "
        "match, like our _(overlap)_ column. Third-party transcription.",
    ),
    "clinc150": (
        [
            Baseline("Rasa spacy-sklearn (2019)", in_scope_accuracy=0.915, oos_recall=0.453),
            Baseline("MLP (USE)", in_scope_accuracy=0.935, oos_recall=0.474),
            Baseline("BERT", in_scope_accuracy=0.969, oos_recall=0.403),
            Baseline("SVM", in_scope_accuracy=0.910, oos_recall=0.145),
        ],
        "Larson et al. 2019, Table 2, oos-train setting on the full variant (primary).",
    ),
    "bitext": ([], "No published baseline (SOURCE.md)."),
    "braun_askubuntu": (
        [
            Baseline("LUIS", 0.90),
            Baseline("Dialogflow", 0.85),
            Baseline("IBM Watson", 0.92),
            Baseline("Rasa (2017)", 0.86),
        ],
        _BRAUN_NOTE,
    ),
    "braun_chatbot": (
        [
            Baseline("LUIS", 0.98),
            Baseline("Dialogflow", 0.93),
            Baseline("IBM Watson", 0.97),
            Baseline("Rasa (2017)", 0.98),
        ],
        _BRAUN_NOTE,
    ),
    "braun_webapps": (
        [
            Baseline("LUIS", 0.81),
            Baseline("Dialogflow", 0.80),
            Baseline("IBM Watson", 0.83),
            Baseline("Rasa (2017)", 0.74),
        ],
        _BRAUN_NOTE,
    ),
}


def load_cells(results_dir: Path) -> list[dict[str, Any]]:
    cells = []
    for path in sorted((results_dir / "cells").glob("*.json")):
        cells.append(json.loads(path.read_text(encoding="utf-8")))
    return cells


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f} %"


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def _epochs(cell: dict[str, Any]) -> str:
    if cell.get("epochs") is None:
        return "no DIET"  # the project's intent-only cells (pipelines.for_dataset)
    text = str(cell["epochs"])
    if cell.get("epoch_cap"):
        text += f" (capped from {cell['configured_epochs']})"
    elif cell.get("configured_epochs") and cell["epochs"] > cell["configured_epochs"]:
        text += f" (raised from {cell['configured_epochs']} for min_steps)"
    return text


def _threshold_table(by_dataset: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The fallback thresholds replayed on the tuning sets' predictions, the chosen one in bold."""
    cells = [by_dataset.get(name, {}).get("project") or {} for name in THRESHOLD_SETS]
    sweeps: list[list[dict[str, Any]]] = [c.get("fallback_sweep") or [] for c in cells]
    if not all(sweeps):
        return []
    chosen = choose_threshold(sweeps)
    head = ["threshold"]
    for name, sweep in zip(THRESHOLD_SETS, sweeps, strict=True):
        head.append(f"{name} in-scope acc")
        if any(row.get("oos_recall") is not None for row in sweep):
            head.append(f"{name} OOS recall")
    lines = [
        "## Fallback threshold (chosen on the tuning sets)",
        "",
        "Replayed on the project pipeline's predictions. Rule: the best OOS recall among "
        "thresholds that cost at most half a point of in-scope accuracy (against no fallback) "
        f"on each of {', '.join(THRESHOLD_SETS)}; a fallback on a question the bot knows is a "
        "lost answer.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    rows: dict[float, list[dict[str, Any]]] = {}
    for sweep in sweeps:
        for row in sweep:
            rows.setdefault(row["threshold"], []).append(row)
    for threshold, found in sorted(rows.items()):
        if len(found) != len(sweeps):
            continue
        mark = "**" if threshold == chosen else ""
        values = [f"{mark}{threshold:.2f}{mark}"]
        for row in found:
            values.append(_pct(row["in_scope_accuracy"]))
            if row.get("oos_recall") is not None:
                values.append(_pct(row["oos_recall"]))
        lines.append("| " + " | ".join(values) + " |")
    return [*lines, ""]


def _table(dataset: str, cells: dict[str, dict[str, Any]], quick: bool) -> list[str]:
    oos = any(c.get("oos_recall") is not None for c in cells.values())
    entities = any(c.get("has_entities") for c in cells.values())
    head = ["pipeline", "accuracy", "macro-F1"]
    head += ["in-scope acc", "OOS recall"] if oos else []
    head += ["entity F1", "entity F1 (overlap)"] if entities else []
    head += ["fallback", "before fallback", "epochs", "training", "s/epoch", "100 epochs (est.)"]
    head += ["p50 / p95 per msg", "peak RAM (train)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in ("stock", "project"):
        cell = cells.get(name)
        if cell is None:
            continue
        if cell.get("status") != "ok":
            error = str(cell.get("error", "")).splitlines()[0][:120]
            row = [f"{name} (failed)", f"`{escape(error)}`"] + [""] * (len(head) - 2)
            lines.append("| " + " | ".join(row) + " |")
            continue
        row = [f"**{name}**" if name == "project" else name]
        row += [_pct(cell["accuracy"]), _num(cell["macro_f1"])]
        if oos:
            row += [_pct(cell.get("in_scope_accuracy")), _pct(cell.get("oos_recall"))]
        if entities:
            row += [_num(cell.get("entity_f1")), _num(cell.get("entity_f1_overlap"))]
        row += [
            _pct(cell.get("fallback_rate")),
            _pct(cell.get("accuracy_without_fallback")),
            _epochs(cell),
            _seconds(cell.get("train_seconds")),
            _num(cell.get("seconds_per_epoch"), 2),
            _seconds(cell.get("extrapolated_100_epochs_seconds")),
            f"{_num(cell.get('p50_ms'), 1)} / {_num(cell.get('p95_ms'), 1)} ms",
            f"{cell['peak_train_mb']:.0f} MB" if cell.get("peak_train_mb") else "",
        ]
        lines.append("| " + " | ".join(row) + " |")
    baselines, _ = BASELINES.get(dataset, ([], ""))
    for b in [] if quick else baselines:
        row = [f"_{b.system}_ (published)", _pct(b.accuracy), ""]
        if oos:
            row += [_pct(b.in_scope_accuracy), _pct(b.oos_recall)]
        if entities:
            row += ["", _num(b.entity_f1)]
        row += [""] * (len(head) - len(row))
        lines.append("| " + " | ".join(row) + " |")
    return lines + _busy_machine_notes(cells)


def _platform(cell: dict[str, Any]) -> str:
    return str(cell.get("machine", {}).get("platform", "?"))


def _busy_machine_notes(cells: dict[str, dict[str, Any]]) -> list[str]:
    """A warning under the table for cells timed while other work loaded the machine, or on
    another machine than the cell they are compared with."""
    notes = []
    ok = {n: cells[n] for n in ("stock", "project") if cells.get(n, {}).get("status") == "ok"}
    if len({_platform(c) for c in ok.values()}) > 1:
        where = ", ".join(f"{name} on `{_platform(c)}`" for name, c in ok.items())
        notes.append(f"\n_Timed on different machines ({where}): the times compare only roughly._")
    for name, cell in cells.items():
        if cell.get("timing_note"):  # written by hand when the run itself could not tell
            notes.append(f"\n_{name}: {cell['timing_note']}_")
            continue
        machine = cell.get("machine", {})
        loads = [machine.get(k) for k in ("load_average_at_start", "load_average_at_end")]
        peak = max((load for load in loads if load is not None), default=None)
        if peak is not None and peak > (machine.get("cpus") or 1):
            notes.append(
                f"\n_{name}: timed on a busy machine (load average {loads[0]} at the start, "
                f"{loads[1]} at the end, on {machine.get('cpus')} cores): its training time and "
                "latency overstate what it needs on an idle machine._"
            )
    return notes


def confusion_svg(cell: dict[str, Any], size: int = 8) -> str | None:
    """A heatmap of gold vs predicted among the intents most involved in mistakes."""
    mistakes = [(g, p, n) for g, p, n in cell.get("mistakes", [])]
    if not mistakes:
        return None
    involvement: Counter[str] = Counter()
    for gold, predicted, n in mistakes:
        involvement[gold] += n
        involvement[predicted] += n
    labels = [label for label, _ in involvement.most_common(size)]
    counts = {(g, p): n for g, p, n in mistakes}
    for label in labels:
        counts[(label, label)] = int(cell.get("correct", {}).get(label, 0))
    peak = max(counts.get((g, p), 0) for g in labels for p in labels if g != p) or 1
    cell_px, left, top = 34, 230, 190
    width, height = left + cell_px * len(labels) + 20, top + cell_px * len(labels) + 40
    title = f"{cell['dataset']} / {cell['pipeline']}: most confused intents (row = gold)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="8" y="16" font-size="13">{escape(title)}</text>',
    ]
    for i, label in enumerate(labels):
        y = top + i * cell_px + cell_px / 2 + 4
        x = left + i * cell_px + cell_px / 2
        out.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{escape(label[:32])}</text>')
        out.append(
            f'<text transform="translate({x + 4},{top - 6}) rotate(-60)">{escape(label[:32])}'
            "</text>"
        )
    for i, gold in enumerate(labels):
        for j, predicted in enumerate(labels):
            n = counts.get((gold, predicted), 0)
            x, y = left + j * cell_px, top + i * cell_px
            if i == j:
                fill = "#e8f0e8"
            else:
                # Mistakes shade from white to red, relative to the largest off-diagonal count.
                level = int(255 - 200 * n / peak)
                fill = f"rgb(255,{level},{level})"
            out.append(
                f'<rect x="{x}" y="{y}" width="{cell_px}" height="{cell_px}" fill="{fill}" '
                'stroke="#ccc"/>'
            )
            if n:
                out.append(
                    f'<text x="{x + cell_px / 2}" y="{y + cell_px / 2 + 4}" '
                    f'text-anchor="middle">{n}</text>'
                )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(results_dir: Path, report_path: Path, quick: bool = False) -> str:
    """The markdown report; writes the confusion SVGs into results_dir as a side effect."""
    by_dataset: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in load_cells(results_dir):
        if bool(cell.get("quick")) == quick:
            by_dataset.setdefault(cell["dataset"], {})[cell["pipeline"]] = cell
    ok = [c for cells in by_dataset.values() for c in cells.values() if c.get("status") == "ok"]
    machine = ok[0]["machine"] if ok else {}
    platforms = Counter(_platform(c) for c in ok)
    lines = [
        "# NLU benchmark: stock Rasa 3.6 pipeline vs the project's" + (" (quick)" if quick else ""),
        "",
        "Generated by `supportbot-lab bench-nlu`"
        + (" --quick" if quick else "")
        + " (bot/nlu_bench); each (dataset, pipeline) cell is trained and tested on one "
        f"machine ({machine.get('cpus', '?')} CPUs, "
        + ", ".join(f"`{p}`" for p in sorted(platforms))
        + f") and cached in `{_relative(results_dir / 'cells', report_path)}`."
        + (
            f" The cells ran on {len(platforms)} virtual machines of that size, not equally "
            "fast: a table says when its two cells ran on different ones."
            if len(platforms) > 1
            else ""
        ),
        "",
        "- **stock**: the pipeline of `rasa init` in Rasa 3.6.21 (word + char_wb 1-4 counts, "
        "DIET 100 epochs, FallbackClassifier 0.3). **project**: the NLU pipeline of "
        "`config.yml`: logistic regression on the MiniLM sentence vector plus tf-idf word 1-2 "
        "and char 2-5 grams for intents (`SentenceIntentClassifier`), DIET for entities only "
        "(`DIETEntityExtractor`: no transformer, one tag per entity type, 40 epochs or more "
        "for at least 1,000 steps; left out on datasets without entities: _no DIET_), "
        "FallbackClassifier 0.2 (chosen on the tuning sets: see the end). Cells run at "
        "different times may have used earlier versions of it: each cell keeps its config.",
        "- accuracy and macro-F1 (over the gold intents) count a fallback (`nlu_fallback`) as "
        "wrong; _fallback_ is the share of test messages that fell back; _before fallback_ is "
        "the accuracy of the classifier's own best guess, as a system without a reject option "
        "(every published baseline here) is scored. Entity F1: micro F1 "
        "of exact (type, value) matches per message (value compared case-insensitively); "
        "_(overlap)_: a predicted entity matches a gold one of the same type whose characters "
        "it overlaps, one to one, as in the published HWU64 numbers.",
        "- CLINC150: out-of-scope is the 151st intent `oos`; OOS recall counts `oos` and "
        "`nlu_fallback` predictions alike (the bot would say it cannot help either way), and so "
        "do accuracy, macro-F1 and the confusions; a fallback on an in-scope query is wrong.",
        "- training: wall time of `rasa train nlu` (featurisation included); s/epoch: DIET's "
        "steady epoch time (after the first, which builds the TensorFlow graph); 100 epochs "
        "(est.): the training time extrapolated to 100 DIET epochs. Latency: one message at a "
        "time through the loaded model. Peak RAM: max RSS of the `rasa` process (GNU time).",
        "",
    ]
    if ok:
        dates = sorted(str(c.get("started_at", "")) for c in ok)
        lines += [
            f"Cells run from {dates[0]} to {dates[-1]}. Times and latencies are wall-clock on "
            "2 shared cores: other jobs running at the same time inflate them.",
            "",
        ]
    if not quick:
        done = {(d, p) for d, cells in by_dataset.items() for p in cells}
        missing = [
            f"{d}/{p}"
            for d in ORDER[1:]
            for p in (("project",) if d in TUNING else ("stock", "project"))
            if (d, p) not in done
        ]
        if missing:
            lines += [
                f"**Not run yet:** {', '.join(missing)} (`supportbot-lab bench-nlu` resumes).",
                "",
            ]
    capped = sorted(
        {(c["dataset"], c["epochs"], c["configured_epochs"]) for c in ok if c.get("epoch_cap")}
    )
    if capped:
        caps = ", ".join(f"{d} at {e} of {n}" for d, e, n in capped)
        lines += [
            f"**Epoch cap:** the stock pipeline's DIET was capped on large sets ({caps} "
            "epochs): its accuracy is that of a short training; the extrapolated column gives "
            "what the full 100 epochs would cost here.",
            "",
        ]
    plots_dir = report_path.parent
    for dataset in sorted(by_dataset, key=lambda d: ORDER.index(d) if d in ORDER else 99):
        cells = by_dataset[dataset]
        any_cell = next(iter(cells.values()))
        lines += [f"## {TITLES.get(dataset, dataset)}", ""]
        if any_cell.get("train_examples"):
            lines += [
                f"{any_cell['train_examples']} train / {any_cell['test_examples']} test "
                f"utterances, {any_cell['intents']} intents.",
                "",
            ]
        lines += _table(dataset, cells, quick)
        lines.append("")
        _, note = BASELINES.get(dataset, ([], ""))
        notes = ([] if quick or not note else [f"Published: {note}"]) + list(
            any_cell.get("notes", [])
        )
        lines += [f"- {n}" for n in notes] + ([""] if notes else [])
        for name in ("stock", "project"):
            found = cells.get(name)
            if not found or found.get("status") != "ok":
                continue
            cell = found
            if cell.get("confused"):
                pairs = ", ".join(f"{g} -> {p} ({n})" for g, p, n in cell["confused"][:5])
                lines += [f"Most confused ({name}): {pairs}.", ""]
            svg = confusion_svg(cell)
            if svg:
                path = results_dir / f"{dataset}__{name}{'__quick' if quick else ''}.svg"
                path.write_text(svg, encoding="utf-8")
                lines += [f"![{dataset} {name} confusion]({_relative(path, plots_dir)})", ""]
    if not quick:
        lines += _threshold_table(by_dataset)
    return "\n".join(lines).rstrip() + "\n"


def _relative(path: Path, start: Path) -> str:
    base = start if start.is_dir() or not start.suffix else start.parent
    return Path(os.path.relpath(path, base)).as_posix()


def write(results_dir: Path, report_path: Path, quick: bool = False) -> str:
    text = render(results_dir, report_path, quick)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text, encoding="utf-8")
    return text
