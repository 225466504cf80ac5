"""`supportbot`: the command line of the project (run, database, tokens, agent replies, reports)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.nlu_bench import datasets as nlu_datasets
from bot.rasa_client import RasaRequestError, RasaUnavailable
from bot.settings import PROJECT_ROOT, SettingsError, get_settings


def _env(args: argparse.Namespace) -> int:
    # One KEY=VALUE per line, so the Makefile can say `env $(supportbot env) rasa ...`.
    for name, value in get_settings().rasa_environment.items():
        if any(c.isspace() for c in value):
            raise SettingsError(f"{name} must not contain whitespace, got {value!r}")
        print(f"{name}={value}")
    return 0


def _db_migrate(args: argparse.Namespace) -> int:
    from bot.crm import migrate

    migrate()
    print("CRM schema is up to date")
    return 0


def _db_seed(args: argparse.Namespace) -> int:
    from bot.crm import crm_session
    from bot.crm.seed import seed_demo_data
    from bot.kb.seed import seed_articles

    if args.customers < 0:
        raise SettingsError("--customers must not be negative")
    print(f"Seeding the demo CRM ({args.customers} customers besides Ada and Grace)...")
    with crm_session() as crm:
        summary = seed_demo_data(crm.session, customers=args.customers, random_seed=args.seed)
        # The knowledge base follows the article files in data/kb (an upsert by slug).
        articles = seed_articles(crm.session)
    print(f"Knowledge base: {articles} articles from data/kb; building its index...")
    from bot.kb import get_knowledge_base

    # Embedding the articles now spares the first customer question the wait.
    print(f"Knowledge base index ready: {get_knowledge_base().size} articles")
    if not summary.created:
        print("The demo customers are already there: nothing to do")
    else:
        print(
            f"Created {summary.customers} customers, {summary.orders} orders, "
            f"{summary.invoices} invoices, {summary.refunds} refunds, {summary.tickets} tickets"
        )
    return 0


def _satisfaction_check(args: argparse.Namespace) -> int:
    from bot.crm import crm_session
    from bot.crm.profile import check_satisfaction_estimates

    with crm_session() as crm:
        check = check_satisfaction_estimates(crm.session)
    if not check.rated:
        print("No conversation has both a satisfaction estimate and a CSAT rating yet")
        return 0
    print(
        f"{check.rated} rated conversations: mean absolute error {check.mean_absolute_error} "
        f"points, {check.within_one_point:.0%} of estimates within 1 point of the rating"
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    from bot.crm import crm_session
    from bot.identity import issue_customer_token

    settings = get_settings()
    secret = settings.require("identity_secret")
    with crm_session() as crm:
        customer = crm.customers.find_by_email(args.email)
        customer_id = customer.id if customer else None
    if customer_id is None:
        print("error: no customer has that email address", file=sys.stderr)
        return 1
    ttl = args.ttl or settings.identity_token_ttl_seconds
    print(issue_customer_token(customer_id, secret=secret, ttl_seconds=ttl))
    return 0


def _agent(args: argparse.Namespace) -> int:
    from bot.crm import crm_session
    from bot.rasa_client import RasaClient

    settings = get_settings()
    client = RasaClient(settings.rasa_url, settings.require("rasa_api_token"))
    if args.agent_command == "reply":
        asyncio.run(client.post_agent_reply(args.sender_id, args.text, agent_name=args.name))
        print(f"Sent to conversation {args.sender_id}")
    else:
        asyncio.run(client.resume(args.sender_id))
        with crm_session() as crm:
            crm.handoffs.hand_back(args.sender_id)  # and out of the console's takeover queue
        print(f"Conversation {args.sender_id} is back with the assistant")
    return 0


def _agent_create(args: argparse.Namespace) -> int:
    import getpass
    import os

    from bot.console.auth import Agents, check_password
    from bot.crm import crm_session

    # The environment variable is for scripts; people type it twice, unseen.
    password = os.environ.get("SUPPORTBOT_NEW_AGENT_PASSWORD")
    if password is None:
        password = getpass.getpass("Password for the new agent: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise ValueError("the two passwords differ")
    check_password(password)
    with crm_session() as crm:
        agent = Agents(crm.session).create(args.email, args.name, password)
        agent_id, email = agent.id, agent.email
    print(f"Created agent {agent_id} ({email}); they can sign in to the console now")
    return 0


def _agent_set_active(args: argparse.Namespace) -> int:
    from bot.console.auth import Agents
    from bot.crm import crm_session

    active = args.agent_command == "enable"
    with crm_session() as crm:
        agent_id = Agents(crm.session).set_active(args.email, active).id
    print(f"Agent {agent_id} is {'enabled' if active else 'disabled (sessions ended)'}")
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.console import synthetic
    from bot.crm import migrate

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


def _training_data(args: argparse.Namespace) -> int:
    from bot.console.training_data import merge_reviewed

    review_file = get_settings().review_file
    report = merge_reviewed(review_file, args.into)
    print(
        f"Merged {report.merged} reviewed examples into {report.target}; "
        f"{report.duplicates} were training data already"
    )
    for example, intent, known in report.conflicts:
        print(
            f"kept in {review_file}: {example!r} is marked {intent} but is an example of "
            f"{', '.join(known)} in {report.target.parent}"
        )
    return 0


def _nlu_report(args: argparse.Namespace) -> int:
    from bot.nlu_report import format_table, read_scores

    print(format_table([read_scores(Path(path)) for path in args.results]))
    return 0


def _bench_nlu(args: argparse.Namespace) -> int:
    from bot.nlu_bench.run import run

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
    from bot.nlu_bench.server_latency import held_out_messages, measure

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
    from bot.kb.benchmark import REPORT, run

    run(out=Path(args.out) if args.out else REPORT, scale_articles=args.scale_articles)
    return 0


def _bench_sentiment(args: argparse.Namespace) -> int:
    from bot.sentiment.benchmark import REPORT, run_benchmark

    if args.limit is not None and args.limit < 1:
        raise SettingsError("--limit must be at least 1")
    # A quick run must not overwrite the documented result unless asked to.
    report = args.report or (REPORT if args.limit is None else None)
    text, scorer_ok = run_benchmark(args.limit, report, log=lambda line: print(line, flush=True))
    print()
    print(text)
    return 0 if scorer_ok else 1


def _run(args: argparse.Namespace) -> int:
    from bot.launcher import launch

    return launch()


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.web.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        # The access log would record conversation ids next to client addresses.
        access_log=False,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("run", help="start the action server, Rasa and the web app").set_defaults(
        handler=_run
    )
    commands.add_parser("web", help="start only the web app").set_defaults(handler=_web)
    commands.add_parser(
        "env", help="print the variables endpoints.yml reads (tracker, lock store, actions)"
    ).set_defaults(handler=_env)

    db = commands.add_parser("db", help="the CRM store").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("migrate", help="create or upgrade the schema").set_defaults(handler=_db_migrate)
    seed = db.add_parser("seed", help="add the deterministic demo customers (idempotent)")
    seed.add_argument("--customers", type=int, default=300)
    seed.add_argument("--seed", type=int, default=7)
    seed.set_defaults(handler=_db_seed)

    commands.add_parser(
        "satisfaction-check", help="compare satisfaction estimates with the CSAT customers gave"
    ).set_defaults(handler=_satisfaction_check)

    token = commands.add_parser("token", help="mint a signed customer token (for testing)")
    token.add_argument("email")
    token.add_argument("--ttl", type=int, default=0, help="lifetime in seconds")
    token.set_defaults(handler=_token)

    agent = commands.add_parser(
        "agent", help="agent logins; reply to or resume a handed-off conversation"
    )
    agent_commands = agent.add_subparsers(dest="agent_command", required=True)
    reply = agent_commands.add_parser("reply", help="post an agent message")
    reply.add_argument("sender_id")
    reply.add_argument("text")
    reply.add_argument("--name", default="Support agent")
    reply.set_defaults(handler=_agent)
    resume = agent_commands.add_parser("resume", help="hand the conversation back to the bot")
    resume.add_argument("sender_id")
    resume.set_defaults(handler=_agent)
    create = agent_commands.add_parser(
        "create",
        help="create an agent login for the console (password from "
        "SUPPORTBOT_NEW_AGENT_PASSWORD, or asked for twice)",
    )
    create.add_argument("email")
    create.add_argument("--name", required=True)
    create.set_defaults(handler=_agent_create)
    for verb, text in (("disable", "stop an agent signing in"), ("enable", "let them again")):
        toggle = agent_commands.add_parser(verb, help=text)
        toggle.add_argument("email")
        toggle.set_defaults(handler=_agent_set_active)

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

    training = commands.add_parser(
        "training-data", help="the examples agents mark in the console as training data"
    )
    training_commands = training.add_subparsers(dest="training_command", required=True)
    merge = training_commands.add_parser(
        "merge",
        help="move the reviewed examples of the review file (SUPPORTBOT_REVIEW_FILE) into an NLU "
        "file, skipping those its folder has already; empties the review file",
    )
    merge.add_argument(
        "--into",
        type=Path,
        default=PROJECT_ROOT / "data" / "nlu" / "reviewed.yml",
        help="the NLU file to add them to (default: data/nlu/reviewed.yml); the NLU files of "
        "its folder are what counts as training data already",
    )
    merge.set_defaults(handler=_training_data)

    report = commands.add_parser(
        "nlu-report", help="score the bot's NLU test results (python -m bot.nlu_bench.evaluate)"
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
        "bench-retrieval", help="benchmark knowledge-base retrieval (writes reports/retrieval.md)"
    )
    bench.add_argument("--out", help="report file (default: reports/retrieval.md)")
    bench.add_argument("--scale-articles", type=int, default=100_000)
    bench.set_defaults(handler=_bench_retrieval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # httpx logs every URL, and Rasa's API token travels in the query string.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return int(args.handler(args))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RasaUnavailable, RasaRequestError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
