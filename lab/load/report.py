"""reports/load.md: both bots side by side, the targets, the profile, the long conversation."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lab.latency import p50_p95
from lab.load.bots import SCALED_WORKERS

if TYPE_CHECKING:
    from lab.load.customers import Load
    from lab.load.run import BotResult, Plan

COLOURS = {"stock": "#888888", "project": "#1f6feb", "scaled": "#d4731b"}
SCALED_DESCRIPTION = (
    f"{SCALED_WORKERS} Rasa and {SCALED_WORKERS} action-server workers, the Redis lock store and "
    "socket.io queue, PostgreSQL for the tracker store and the CRM"
)


def _ms(values: Sequence[float]) -> tuple[float, float]:
    return p50_p95(values) if values else (float("nan"), float("nan"))


def long_growth(load: Load) -> tuple[float, float, float]:
    """p50 of turns 2-21, p50 of the last 20 turns, and their ratio."""
    latencies = [turn.latency_ms for turn in sorted(load.turns, key=lambda t: t.index)]
    early = statistics.median(latencies[1:21]) if len(latencies) > 1 else float("nan")
    late = statistics.median(latencies[-20:]) if latencies else float("nan")
    return early, late, late / early if early else float("nan")


def _ratio(project: float, stock: float) -> str:
    return f"{project / stock:.2f}" if stock else "-"


def _level_rows(stock: BotResult, project: BotResult) -> list[str]:
    name = project.name
    rows = [
        f"| customers | messages | stock msg/s | {name} msg/s | ratio | stock p50 / p95 ms "
        f"| {name} p50 / p95 ms | errors (stock / {name}) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s, p in zip(stock.loads, project.loads, strict=True):
        s50, s95 = _ms(s.latencies())
        p50, p95 = _ms(p.latencies())
        rows.append(
            f"| {p.customers} | {len(p.turns)} | {s.throughput:.1f} | {p.throughput:.1f} "
            f"| {_ratio(p.throughput, s.throughput)} | {s50:.0f} / {s95:.0f} "
            f"| {p50:.0f} / {p95:.0f} | {len(s.errors())} / {len(p.errors())} |"
        )
    return rows


def _targets(stock: BotResult, project: BotResult, plan: Plan) -> list[str]:
    by_customers = {load.customers: load for load in project.loads}
    stock_by = {load.customers: load for load in stock.loads}
    rows = ["| target | measured | met |", "| --- | ---: | :---: |"]

    def row(target: str, measured: str, met: bool) -> None:
        rows.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")

    if 10 in by_customers:
        ten, stock_ten = by_customers[10], stock_by[10]
        ratio = ten.throughput / stock_ten.throughput if stock_ten.throughput else 0.0
        row(
            "throughput at 10 customers ≥ the stock bot's (ratio ≥ 1.0)", f"{ratio:.2f}", ratio >= 1
        )
        p95 = _ms(ten.latencies())[1]
        row("p95 at 10 customers ≤ 500 ms", f"{p95:.0f} ms", p95 <= 500)
    if 50 in by_customers:
        errors = len(by_customers[50].errors())
        row("50 customers with no errors", f"{errors} errors", errors == 0)
    early, late, growth = long_growth(project.long)
    row(
        f"p50 of the last 20 of {plan.long_turns} turns ≤ 1.5 x turns 2-21",
        f"{early:.0f} → {late:.0f} ms ({growth:.2f}x)",
        growth <= 1.5,
    )
    row("answering within 20 s of start", f"{project.startup_s:.1f} s", project.startup_s <= 20)
    row(
        "total RSS ≤ 2.5 GB",
        f"{project.rss_peak_bytes / 1e9:.2f} GB peak",
        project.rss_peak_bytes <= 2.5e9,
    )
    row("nothing lost (answered, tracker, CRM)", _stored_text(project), project.stored.ok)
    return rows


def _stored_text(result: BotResult) -> str:
    s = result.stored
    crm = "" if s.crm_expected is None else f", CRM {s.crm_recorded}/{s.crm_expected}"
    return (
        f"{s.messages - s.unanswered}/{s.messages} answered, {s.missing_in_tracker} missing and "
        f"{s.extra_in_tracker} extra in the tracker{crm}"
    )


def _profile_rows(results: Sequence[BotResult]) -> list[str]:
    lines: list[str] = []
    for result in results:
        for times in result.profile:
            lines += [
                "",
                f"**{result.name}: {times.role}**: {times.total_ms:.1f} ms of CPU per message "
                f"({times.samples} samples over {times.messages} messages)",
                "",
                "| stage | ms per message | share |",
                "| --- | ---: | ---: |",
            ]
            for stage, ms in times.per_stage_ms.items():
                lines.append(f"| {stage} | {ms:.2f} | {ms / times.total_ms:.0%} |")
            if times.per_action_ms:
                lines += [
                    "",
                    "| action module (incl. what it calls) | ms per message |",
                    "| --- | ---: |",
                ]
                lines += [f"| actions/{m}.py | {ms:.2f} |" for m, ms in times.per_action_ms.items()]
    return lines


def latency_svg(results: Sequence[BotResult], width: int = 640, height: int = 260) -> str:
    """Latency against turn number in the long conversation, one line per bot."""
    pad = 40
    series = {
        r.name: [t.latency_ms for t in sorted(r.long.turns, key=lambda t: t.index)] for r in results
    }
    turns = max(len(v) for v in series.values())
    top = max(max(v) for v in series.values() if v) * 1.05
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 10}" y2="{height - pad}" '
        'stroke="black"/>',
        f'<line x1="{pad}" y1="10" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">turn</text>',
        f'<text x="{pad - 4}" y="14" text-anchor="end">{top:.0f} ms</text>',
        f'<text x="{pad - 4}" y="{height - pad}" text-anchor="end">0</text>',
        f'<text x="{width - 10}" y="{height - pad + 14}" text-anchor="end">{turns}</text>',
    ]
    for n, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{pad + i * (width - pad - 10) / max(turns - 1, 1):.1f},"
            f"{height - pad - v / top * (height - pad - 10):.1f}"
            for i, v in enumerate(values)
        )
        colour = COLOURS.get(name, "black")
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}"/>'
        )
        out.append(f'<text x="{pad + 10}" y="{24 + 14 * n}" fill="{colour}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write_report(
    out: Path,
    results: Sequence[BotResult],
    *,
    plan: Plan,
    loads_at_start: dict[str, float],
    load_at_end: float,
    started: float,
    scripts: dict[str, list[str]],
) -> None:
    stock, project, *others = results
    scaled = others[0] if others else None
    cores = os.cpu_count() or 1
    busy = {name: load for name, load in loads_at_start.items() if load >= 1.0}
    lines = [
        "# Load benchmark",
        "",
        f"`make bench-load`{' (`--quick`: a smoke run, not a measurement)' if plan.quick else ''}, "
        f"run {datetime.fromtimestamp(started, UTC):%Y-%m-%d %H:%M} UTC on {cores} CPU cores "
        f"({platform.processor() or platform.machine()}, `{platform.platform()}`). Both bots ran "
        "one after the other in this run, on this machine, driven by the same closed-loop client "
        "(each customer sends its next message when the reply arrives) over Rasa's REST channel.",
        "",
        "- **stock**: Rasa 3.6.21's starter project (`rasa init`), untouched: its default "
        "pipeline and policies, in-memory tracker store, no action server"
        + (f" (**quick run: epochs capped at {2}**)" if plan.quick else "")
        + ".",
        "- **project**: `supportbot run`, as `make run` starts it (Rasa, action server, web app), "
        "on a freshly seeded SQLite CRM and tracker store.",
        *(
            [f"- **scaled**: the same stack in its scaled configuration: {SCALED_DESCRIPTION}."]
            if scaled is not None
            else []
        ),
        "- 1-minute load average before each bot: "
        + ", ".join(f"{name} {load:.2f}" for name, load in loads_at_start.items())
        + f"; {load_at_end:.2f} at the end (the benchmark's own load).",
    ]
    if busy:
        lines.append(
            f"- **Busy machine**: {', '.join(busy)} started with a load average ≥ 1 on {cores} "
            "cores: its figures overstate what it needs on an idle machine."
        )
    lines += ["", "## Targets (issue 14)", "", *_targets(stock, project, plan)]
    lines += ["", "## Throughput and latency", "", *_level_rows(stock, project)]
    if scaled is not None:
        lines += [
            "",
            f"Scaled configuration ({SCALED_DESCRIPTION}), same client, same machine:",
            "",
            *_level_rows(stock, scaled),
        ]
    header = "| | " + " | ".join(r.name for r in results) + " |"
    rule = "| --- |" + " ---: |" * len(results)
    lines += ["", "## One customer, a long conversation", "", header, rule]
    growth = {r.name: long_growth(r.long) for r in results}
    lines.append(
        f"| p50 of turns 2-21 → last 20 (of {plan.long_turns}) "
        + "".join(f"| {e:.0f} → {late:.0f} ms ({g:.2f}x) " for e, late, g in growth.values())
        + "|"
    )
    svg_name = out.with_suffix("").name + "-long-conversation.svg"
    (out.parent / svg_name).write_text(latency_svg(results), encoding="utf-8")
    lines += ["", f"![latency against turn number]({svg_name})", ""]
    lines += ["## Start-up, memory and what was stored", "", header, rule]
    lines.append(
        "| start to first answer " + "".join(f"| {r.startup_s:.1f} s " for r in results) + "|"
    )
    lines.append(
        "| RSS, all processes, after warm-up / peak "
        + "".join(f"| {r.rss_bytes / 1e9:.2f} / {r.rss_peak_bytes / 1e9:.2f} GB " for r in results)
        + "|"
    )
    lines.append("| nothing lost " + "".join(f"| {_stored_text(r)} " for r in results) + "|")
    lines += [
        "",
        "## Where a turn's time goes",
        "",
        "py-spy samples of each server process while "
        f"{plan.profile[0]} customers sent {plan.profile[1]} messages each (CPU time only; a "
        "stack counts towards the innermost stage named in lab/load/profile.py).",
        *_profile_rows(results),
        "",
        "## Scripts",
        "",
        *(f"- {name}: " + " / ".join(f"`{m}`" for m in script) for name, script in scripts.items()),
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
