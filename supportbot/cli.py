"""`supportbot`: the command line of the running system (run, database, tokens, agents).

Training, benchmarks and reports are `supportbot-lab` (lab/cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from supportbot.rasa_client import RasaRequestError, RasaUnavailable
from supportbot.settings import PROJECT_ROOT, SECRET_VARIABLES, SettingsError, get_settings


def _env(args: argparse.Namespace) -> int:
    # One KEY=VALUE per line, so the Makefile can say `env $(supportbot env) rasa ...`.
    for name, value in get_settings().rasa_environment.items():
        if name in SECRET_VARIABLES.values():
            continue  # what this prints ends up on a command line (the Makefile's `env`)
        if any(c.isspace() for c in value):
            raise SettingsError(f"{name} must not contain whitespace, got {value!r}")
        print(f"{name}={value}")
    return 0


def _db_migrate(args: argparse.Namespace) -> int:
    from supportbot.store import migrate

    migrate()
    print("CRM schema is up to date")
    return 0


def _db_seed(args: argparse.Namespace) -> int:
    from supportbot.crm.seed import seed_demo_data
    from supportbot.kb.seed import seed_articles
    from supportbot.store import crm_session

    if args.customers < 0:
        raise SettingsError("--customers must not be negative")
    print(f"Seeding the demo CRM ({args.customers} customers besides Ada and Grace)...")
    with crm_session() as crm:
        summary = seed_demo_data(crm.session, customers=args.customers, random_seed=args.seed)
        # The knowledge base follows the article files in data/kb (an upsert by slug).
        articles = seed_articles(crm.session)
    print(f"Knowledge base: {articles} articles from data/kb; building its index...")
    from supportbot.kb import get_knowledge_base

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
    from supportbot.crm.profile import check_satisfaction_estimates
    from supportbot.store import crm_session

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
    from supportbot.identity import issue_customer_token
    from supportbot.store import crm_session

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
    from supportbot.rasa_client import RasaClient
    from supportbot.store import crm_session

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

    from supportbot.console.auth import Agents, check_password
    from supportbot.store import crm_session

    # An input of this one command, not a setting: read here, it stays out of the process-wide
    # Settings. The environment variable is for scripts; people type it twice, unseen.
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
    from supportbot.console.auth import Agents
    from supportbot.store import crm_session

    active = args.agent_command == "enable"
    with crm_session() as crm:
        agent_id = Agents(crm.session).set_active(args.email, active).id
    print(f"Agent {agent_id} is {'enabled' if active else 'disabled (sessions ended)'}")
    return 0


def _training_data(args: argparse.Namespace) -> int:
    from supportbot.console.training_data import merge_reviewed

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


def _run(args: argparse.Namespace) -> int:
    from supportbot.launcher import launch

    return launch()


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from supportbot.web.app import create_app, server_options

    settings = get_settings()
    uvicorn.run(create_app(settings), **server_options(settings))
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

    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse, set up logging and run the chosen handler; errors become a line and an exit code."""
    args = parser.parse_args(argv)
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
