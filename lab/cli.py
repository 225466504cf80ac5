"""`supportbot-lab`: training data, benchmarks and reports (never imported by the running system).

Each command says where it writes; benchmarks read public datasets from SUPPORTBOT_DATASETS_DIR
(default ../shared/datasets beside the checkout) and say so when it is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.nlu_bench import datasets as nlu_datasets
from supportbot.cli import run_command
from supportbot.settings import SettingsError, get_settings


def _console(args: argparse.Namespace) -> int:
    from lab import synthetic_conversations as synthetic
    from supportbot.store import migrate

    url = get_settings().database_url
    if args.console_command == "seed-conversations":
        migrate(url)
        print(f"Adding {args.count} synthetic conversations (seed {args.seed})...", flush=True)
        summary = synthetic.seed_conversations(
            url, count=args.count, seed=args.seed, progress=lambda line: print(line, flush=True)
        )
        print(
            f"Created {summary.created} conversations ({summary.skipped} were already there), "
            f"{summary.reviews} reviews, {summary.tags} tags"
        )
        return 0
    dialect = url.split(":", 1)[0].split("+")[0]
    total = synthetic.conversation_count(url)
    print(f"Conversation list on {total} conversations ({dialect}), {args.repeat} runs each:")
    print(synthetic.format_timings(synthetic.bench_list(url, repeat=args.repeat)))
    return 0


def _nlu_report(args: argparse.Namespace) -> int:
    from lab.nlu_report import format_table, read_scores

    print(format_table([read_scores(Path(path)) for path in args.results]))
    return 0


def _bench_nlu(args: argparse.Namespace) -> int:
    from lab.nlu_bench.run import run

    if args.stock_epoch_cap is not None and args.stock_epoch_cap < 0:
        raise SettingsError("--stock-epoch-cap must not be negative (0: no cap)")
    if args.config is not None:
        if not args.config.is_file():
            raise SettingsError(f"--config {args.config}: no such file")
        if args.results is None and not args.quick:
            # Cells of another pipeline must not land among the documented run's.
            raise SettingsError("--config needs --results (a folder apart from reports/nlu)")
    outcome = run(
        args.dataset,
        args.pipeline,
        quick=args.quick,
        stock_epoch_cap=args.stock_epoch_cap or None,
        force=args.force,
        results_dir=args.results,
        config_path=args.config,
        log=lambda line: print(line, flush=True),
    )
    return 1 if outcome.failed else 0


def _bench_parse(args: argparse.Namespace) -> int:
    from lab.nlu_bench.server_latency import held_out_messages, measure

    settings = get_settings()
    url = args.url or settings.rasa_url
    print(f"Timing /model/parse of the Rasa server at {url}", flush=True)
    result = measure(
        url,
        settings.rasa_api_token,
        held_out_messages(),
        rounds=args.rounds,
        log=lambda line: print(line, flush=True),
    )
    print(result.summary())
    return 0


def _bench_retrieval(args: argparse.Namespace) -> int:
    from lab.kb.benchmark import REPORT, run

    run(out=Path(args.out) if args.out else REPORT, scale_articles=args.scale_articles)
    return 0


def _bench_escalation(args: argparse.Namespace) -> int:
    from lab.escalation.benchmark import REPORT, run_benchmark

    text, _met = run_benchmark(args.report or REPORT, log=lambda line: print(line, flush=True))
    print()
    print(text)
    # The targets are the issue's; missing them is a finding, not a crash (the report says so).
    return 0


def _bench_sentiment(args: argparse.Namespace) -> int:
    from lab.sentiment.benchmark import REPORT, run_benchmark

    if args.limit is not None and args.limit < 1:
        raise SettingsError("--limit must be at least 1")
    # A quick run must not overwrite the documented result unless asked to.
    report = args.report or (REPORT if args.limit is None else None)
    text, scorer_ok = run_benchmark(args.limit, report, log=lambda line: print(line, flush=True))
    print()
    print(text)
    return 0 if scorer_ok else 1


def _run_quick_bench(args: argparse.Namespace, module: str) -> tuple[str, bool]:
    """Run a benchmark with `--quick`/`--report`; a quick run must not overwrite the documented
    result unless asked to."""
    import importlib

    bench = importlib.import_module(module)
    report = args.report or (None if args.quick else bench.REPORT)
    text, met = bench.run_benchmark(
        quick=args.quick, report=report, log=lambda line: print(line, flush=True)
    )
    print()
    print(text)
    return text, bool(met)


def _bench_privacy(args: argparse.Namespace) -> int:
    _text, met = _run_quick_bench(args, "lab.privacy.benchmark")
    return 0 if met or args.quick else 1


def _bench_insights(args: argparse.Namespace) -> int:
    from lab.insights.demo_report import REPORT, run_demo_report

    _run_quick_bench(args, "lab.insights.cdnow")
    # The same job on the seeded demo CRM (synthetic), as `make run` does it.
    run_demo_report(None if args.quick else REPORT, log=lambda line: print(line, flush=True))
    # Missing the target is a finding the report states, not a crash.
    return 0


def _bench_load(args: argparse.Namespace) -> int:
    from lab.load.bots import BotError
    from lab.load.run import run

    try:
        run(
            quick=args.quick,
            scaled=args.scaled,
            report=args.report,
            log=lambda line: print(line, flush=True),
        )
    except BotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _audit(args: argparse.Namespace) -> int:
    from lab.supply_chain import run_audit

    root = Path(__file__).resolve().parents[1]
    return run_audit(
        root, require_service=args.require_service, log=lambda line: print(line, flush=True)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot-lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    console = commands.add_parser("console", help="the agent console: synthetic data, benchmark")
    console_commands = console.add_subparsers(dest="console_command", required=True)
    seed_conversations = console_commands.add_parser(
        "seed-conversations", help="add synthetic conversations (with reviews and tags)"
    )
    seed_conversations.add_argument("--count", type=int, default=10_000)
    seed_conversations.add_argument("--seed", type=int, default=7)
    seed_conversations.set_defaults(handler=_console)
    bench_list = console_commands.add_parser(
        "bench-list", help="time the conversation list for typical filters (p50/p95)"
    )
    bench_list.add_argument("--repeat", type=int, default=30)
    bench_list.set_defaults(handler=_console)

    audit = commands.add_parser(
        "audit",
        help="check every pinned dependency against published advisories "
        "(constraints/audit-allowlist.toml)",
    )
    audit.add_argument(
        "--require-service",
        action="store_true",
        help="fail when no advisory service answers (default: report the audit as not run)",
    )
    audit.set_defaults(handler=_audit)

    report = commands.add_parser(
        "nlu-report", help="score the bot's NLU test results (python -m lab.nlu_bench.evaluate)"
    )
    report.add_argument("results", nargs="+", help="results files with gold cases")
    report.set_defaults(handler=_nlu_report)

    bench = commands.add_parser(
        "bench-nlu",
        help="stock Rasa pipeline vs the project's on public NLU datasets (reports/nlu.md)",
    )
    bench.add_argument(
        "--dataset",
        nargs="+",
        default=["bitext", "braun", "banking77", "hwu64", "clinc150"],
        choices=nlu_datasets.CHOICES,
    )
    bench.add_argument(
        "--pipeline", nargs="+", default=["stock", "project"], choices=["stock", "project"]
    )
    bench.add_argument(
        "--quick", action="store_true", help="CI size: a Bitext subset, few epochs, under var/"
    )
    bench.add_argument(
        "--stock-epoch-cap",
        type=int,
        default=5,
        help="DIET epochs for the stock pipeline on BANKING77/HWU64/CLINC150 (0: no cap)",
    )
    bench.add_argument("--force", action="store_true", help="rerun cells that have a result")
    bench.add_argument(
        "--results", type=Path, default=None, help="cell cache folder (default: reports/nlu)"
    )
    bench.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the project pipeline's Rasa config (default: config.yml); give a separate --results",
    )
    bench.set_defaults(handler=_bench_nlu)
    bench = commands.add_parser(
        "bench-parse", help="time /model/parse of a running Rasa server on the held-out messages"
    )
    bench.add_argument("--url", help="the Rasa server (default: SUPPORTBOT_RASA_URL)")
    bench.add_argument("--rounds", type=int, default=3, help="passes over the held-out set")
    bench.set_defaults(handler=_bench_parse)
    bench = commands.add_parser(
        "bench-sentiment", help="the sentiment model vs VADER on TweetEval and airline tweets"
    )
    bench.add_argument("--limit", type=int, default=None, help="only the first N of each set")
    bench.add_argument(
        "--report", type=Path, default=None, help="markdown output (default: reports/sentiment.md)"
    )
    bench.set_defaults(handler=_bench_sentiment)
    bench = commands.add_parser(
        "bench-escalation",
        help="the learned escalation decision vs the old rule on data/escalation/test.jsonl",
    )
    bench.add_argument(
        "--report", type=Path, default=None, help="markdown output (default: reports/escalation.md)"
    )
    bench.set_defaults(handler=_bench_escalation)
    bench = commands.add_parser(
        "bench-insights",
        help="purchase models vs BG/NBD and the published points on CDNOW (reports/insights.md)",
    )
    bench.add_argument(
        "--quick", action="store_true", help="smoke run: 4,000 customers, writes no report"
    )
    bench.add_argument(
        "--report", type=Path, default=None, help="markdown output (default: reports/insights.md)"
    )
    bench.set_defaults(handler=_bench_insights)
    bench = commands.add_parser(
        "bench-privacy",
        help="PII detection vs stock Presidio on data/privacy (writes reports/privacy.md)",
    )
    bench.add_argument(
        "--quick", action="store_true", help="smoke run: a sample of each split, one timed pass"
    )
    bench.add_argument(
        "--report",
        type=Path,
        default=None,
        help="markdown whose Detection section to write (default: reports/privacy.md)",
    )
    bench.set_defaults(handler=_bench_privacy)
    bench = commands.add_parser(
        "bench-load",
        help="the whole bot under load next to a stock `rasa init` bot (reports/load.md)",
    )
    bench.add_argument(
        "--quick", action="store_true", help="smoke run: tiny load, capped stock epochs, under var/"
    )
    bench.add_argument(
        "--scaled",
        action="store_true",
        help="also the scaled configuration: 2+2 workers, PostgreSQL and Redis "
        "(SUPPORTBOT_BENCH_POSTGRES_URL, SUPPORTBOT_BENCH_REDIS_URL; default: this machine's)",
    )
    bench.add_argument(
        "--report", type=Path, default=None, help="markdown output (default: reports/load.md)"
    )
    bench.set_defaults(handler=_bench_load)
    bench = commands.add_parser(
        "bench-retrieval", help="benchmark knowledge-base retrieval (writes reports/retrieval.md)"
    )
    bench.add_argument("--out", help="report file (default: reports/retrieval.md)")
    bench.add_argument("--scale-articles", type=int, default=100_000)
    bench.set_defaults(handler=_bench_retrieval)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
