"""`supportbot`: the command line of the running system (run, database, tokens, agents).

Training, benchmarks and reports are `supportbot-lab` (lab/cli.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from supportbot.console.auth import AuthError
from supportbot.crm.models import utcnow
from supportbot.rasa_client import RasaRequestError, RasaUnavailable
from supportbot.settings import PROJECT_ROOT, SECRET_VARIABLES, SettingsError, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from supportbot.console.audit import Source
    from supportbot.console.auth import Agents, CurrentAgent
    from supportbot.console.models import Agent
    from supportbot.store import CRM


def _env(args: argparse.Namespace) -> int:
    # One KEY=VALUE per line, so the Makefile can say `env $(supportbot env) rasa ...`.
    for name, value in get_settings().rasa_environment.items():
        # What this prints ends up on a command line (the Makefile's `env`): no secret, no
        # password, no URL that carries credentials (the rasa commands it serves need none).
        if name in SECRET_VARIABLES.values() or name == "TRACKER_PASSWORD" or "@" in value:
            continue
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
            f"{summary.invoices} invoices, {summary.refunds} refunds, {summary.tickets} tickets, "
            f"{summary.interactions} past conversations"
        )
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from supportbot.privacy.backup import back_up

    archive = back_up(get_settings(), args.out)
    print(f"Backup written to {archive} (mode 0600; it holds personal data: keep it encrypted)")
    return 0


def _db_restore(args: argparse.Namespace) -> int:
    from supportbot.privacy.backup import read_manifest, restore, stores

    settings = get_settings()
    manifest = read_manifest(args.archive)
    if not args.yes:
        targets = "; ".join(f"{store.label}: {store.shown_url}" for store in stores(settings))
        print(f"This replaces {targets} with the backup of {manifest['created_at']}.")
        if not _confirmed("Type yes to go on: ", accepted={"yes"}):
            print("Nothing was changed")
            return 1
    restored = restore(settings, args.archive)
    print(
        f"Restored: {restored.counts['customers']} customers, "
        f"{restored.counts['conversations']} conversations in the CRM, "
        f"{restored.counts['tracker_conversations']} in the tracker store "
        f"(the backup had {manifest['counts']['customers']}, "
        f"{manifest['counts']['conversations']} and {manifest['counts']['tracker_conversations']})"
    )
    if restored.previous:
        print(f"The databases as they were before are in {restored.previous}")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    from supportbot.privacy.retention import run_retention

    print(run_retention(get_settings(), dry_run=args.dry_run).summary())
    return 0


def _insights_run(args: argparse.Namespace) -> int:
    from supportbot.insights.batch import run_insights
    from supportbot.store import migrate

    if args.horizon_weeks < 1:
        raise SettingsError("--horizon-weeks must be at least 1")
    migrate()
    if args.if_missing:
        from supportbot.insights.queries import latest_run
        from supportbot.store import crm_session

        with crm_session() as crm:
            latest = latest_run(crm.session)
            if latest is not None:
                print(f"Insights run {latest.id} is there already (--if-missing): nothing to do")
                return 0
    result = run_insights(
        horizon_weeks=args.horizon_weeks, progress=lambda line: print(line, flush=True)
    )
    print(f"Insights run {result.run_id} finished for {result.customers} customers")
    return 0


def _insights_export(args: argparse.Namespace) -> int:
    from supportbot.insights.spark_job import export_crm

    summary = export_crm(None, args.directory)
    print(
        f"Exported the CRM to {summary.directory} ({summary.format}, no personal data): "
        + ", ".join(f"{count:,} {table}" for table, count in summary.counts.items())
    )
    return 0


def _insights_spark(args: argparse.Namespace) -> int:
    from supportbot.insights.spark_job import LOCAL_MASTER, run_on_spark

    # settings.py has no Spark section: the master is this command's own concern.
    master = args.master or os.environ.get("SUPPORTBOT_SPARK_MASTER", "").strip() or LOCAL_MASTER
    if args.k is not None and args.k < 2:
        raise SettingsError("--k must be at least 2")
    result = run_on_spark(args.directory, now=utcnow(), master=master, k=args.k, log=print)
    print(f"{result.k} segments:")
    for name, size in sorted(result.sizes.items(), key=lambda item: -item[1]):
        print(f"  {size:>8,}  {name}")
    print(f"The strongest of {len(result.rules)} rules:")
    for rule in result.rules[:10]:
        print(
            f"  {' + '.join(rule.antecedent)} -> {rule.consequent}: lift {rule.lift:.2f}, "
            f"confidence {rule.confidence:.0%}, support {rule.support:.1%}"
        )
    print("Nothing was written to the CRM (`supportbot insights run` stores insights).")
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


def _new_password(prompt: str) -> str:
    """A new or changed password: SUPPORTBOT_NEW_AGENT_PASSWORD for scripts, else typed twice.

    An input of this one command, not a setting: read here, it stays out of the process-wide
    Settings, and off the command line."""
    import getpass
    import os

    from supportbot.console.auth import check_password

    password = os.environ.get("SUPPORTBOT_NEW_AGENT_PASSWORD")
    if password is None:
        password = getpass.getpass(prompt)
        if getpass.getpass("Repeat the password: ") != password:
            raise ValueError("the two passwords differ")
    check_password(password)
    return password


def _audit_source() -> Source:
    from supportbot.console.audit import Source

    return Source.command_line(get_settings().require("audit_secret"))


def _cli_audit(crm: CRM, action: str, agent_id: int, **details: object) -> None:
    from supportbot.console.audit import COMMAND_LINE, AuditTrail, agent_actor

    # The operator at the server: whoever can run this can reach the database anyway.
    AuditTrail(crm.session).record(
        COMMAND_LINE, action, subject=agent_actor(agent_id), source=COMMAND_LINE, details=details
    )


def _agent_create(args: argparse.Namespace) -> int:
    from supportbot.console.auth import Agents
    from supportbot.store import crm_session

    password = _new_password("Password for the new agent: ")
    with crm_session() as crm:
        agent = Agents(crm.session).create(args.email, args.name, password, role=args.role)
        crm.session.flush()
        agent_id, email = agent.id, agent.email
        _cli_audit(crm, "agent.create", agent_id, role=args.role)
    print(f"Created {args.role} {agent_id} ({email}); they can sign in to the console now")
    return 0


def _agent_set_active(args: argparse.Namespace) -> int:
    from supportbot.console.auth import Agents
    from supportbot.store import crm_session

    active = args.agent_command == "enable"
    with crm_session() as crm:
        agent_id = Agents(crm.session).set_active(args.email, active).id
        _cli_audit(crm, "agent.change", agent_id, active=active)
    print(f"Agent {agent_id} is {'enabled' if active else 'disabled (sessions ended)'}")
    return 0


def _change_agent(
    email: str, change: Callable[[Agents, Agent], None], action: str, **details: object
) -> int:
    """Apply `change` to the agent with this email, audited; the agent's id."""
    from supportbot.console.auth import Agents
    from supportbot.store import crm_session

    with crm_session() as crm:
        agents = Agents(crm.session)
        agent = agents.named(email)
        change(agents, agent)
        _cli_audit(crm, action, agent.id, **details)
        return agent.id


def _agent_role(args: argparse.Namespace) -> int:
    agent_id = _change_agent(
        args.email,
        lambda agents, agent: agents.set_role(agent, args.role),
        "agent.change",
        role=args.role,
    )
    print(f"Agent {agent_id} is now an {args.role}")
    return 0


def _agent_unlock(args: argparse.Namespace) -> int:
    agent_id = _change_agent(
        args.email, lambda agents, agent: agents.unlock(agent), "agent.change", unlocked=True
    )
    print(f"Agent {agent_id} can sign in again (the login lockout is lifted)")
    return 0


def _agent_password(args: argparse.Namespace) -> int:
    password = _new_password("New password: ")
    agent_id = _change_agent(
        args.email, lambda agents, agent: agents.set_password(agent, password), "agent.password"
    )
    print(f"Agent {agent_id} has a new password (the lockout is cleared)")
    return 0


def _signed_in_admin(crm: CRM, email: str) -> CurrentAgent:
    """The admin issuing or revoking a token, by their own credentials (counted and audited as
    a console login is); SUPPORTBOT_ADMIN_PASSWORD for scripts, else asked for."""
    import getpass
    import os

    from supportbot.console.auth import REFUSED, Agents, CurrentAgent, LoginPolicy

    settings = get_settings()
    password = os.environ.get("SUPPORTBOT_ADMIN_PASSWORD")
    if password is None:
        password = getpass.getpass(f"Password of {email}: ")
    agent = Agents(crm.session).check_credentials(
        email, password, source=_audit_source(), policy=LoginPolicy.of(settings)
    )
    if agent is None:
        raise AuthError(REFUSED)
    admin = CurrentAgent.of(agent, utcnow())
    if not admin.is_admin:
        raise AuthError(f"{email} is not an admin: only an admin issues or revokes API tokens")
    return admin


def _token_create(args: argparse.Namespace) -> int:
    from supportbot.console.auth import Agents
    from supportbot.console.tokens import AgentTokens, parse_scopes
    from supportbot.store import crm_session

    # Checked before the admin's password is: a typo in a scope should not cost a login attempt.
    parse_scopes(args.scope)
    refused: AuthError | None = None
    with crm_session() as crm:
        try:
            admin = _signed_in_admin(crm, args.admin)
        except AuthError as error:
            refused = error  # raised once the count and the audit line are committed
        else:
            agent = Agents(crm.session).named(args.email)
            issued = AgentTokens(crm.session).issue(
                agent,
                args.scope,
                days=args.days,
                issued_by=admin,
                source=_audit_source(),
                label=args.label,
            )
    if refused is not None:
        raise refused
    print(
        f"Token {issued.id} for agent {issued.agent_id} ({' '.join(issued.scopes)}), until "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now; give it to the script "
        "as SUPPORTBOT_API_TOKEN:",
        file=sys.stderr,
    )
    print(issued.token)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from supportbot.console.tokens import AgentTokens
    from supportbot.store import crm_session

    with crm_session() as crm:
        tokens = AgentTokens(crm.session).listed()
    for token in tokens:
        state = "live" if token["live"] else ("revoked" if token["revoked_at"] else "expired")
        print(
            f"{token['id']:>5}  {token['agent']['email']:<32} {' '.join(token['scopes']):<40} "
            f"until {token['expires_at'][:16]}  {state}  {token['label']}"
        )
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from supportbot.console.tokens import AgentTokens
    from supportbot.store import crm_session

    refused: AuthError | None = None
    with crm_session() as crm:
        try:
            admin = _signed_in_admin(crm, args.admin)
        except AuthError as error:
            refused = error
        else:
            AgentTokens(crm.session).revoke(args.token_id, revoked_by=admin, source=_audit_source())
    if refused is not None:
        raise refused
    print(f"Token {args.token_id} is revoked")
    return 0


def _takeover(args: argparse.Namespace) -> int:
    """Claim, reply, hand back: the console's takeover routes, as the agent of an API token
    with the scope `takeover` (SUPPORTBOT_API_TOKEN), so the claims decide as in the console."""
    import os

    import httpx

    token = os.environ.get("SUPPORTBOT_API_TOKEN", "").strip()
    if not token:
        raise ValueError(
            "set SUPPORTBOT_API_TOKEN to an API token with the scope takeover "
            "(an admin issues one with `supportbot agent token create`)"
        )
    settings = get_settings()
    url = args.url or f"http://{_reachable(settings.web_host)}:{settings.web_port}"
    path, body, done = {
        "claim": (f"/api/console/queue/{args.sender_id}/claim", None, "claimed"),
        "reply": (f"/api/console/conversations/{args.sender_id}/messages", None, "sent"),
        "resume": (f"/api/console/queue/{args.sender_id}/release", None, "handed back"),
    }[args.agent_command]
    if args.agent_command == "reply":
        body = {"text": args.text}
    try:
        response = httpx.post(
            url.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        raise ValueError(
            f"the web app at {url} cannot be reached ({type(error).__name__})"
        ) from None
    if response.status_code != 200:
        try:
            reason = response.json().get("error", response.text)
        except ValueError:
            reason = response.text
        raise ValueError(f"refused ({response.status_code}): {reason}")
    print(f"Conversation {args.sender_id}: {done}")
    return 0


def _reachable(host: str) -> str:
    # A server listening on every interface is reached on loopback from here.
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


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
    for example, intent in report.masked:
        print(
            f"kept in {review_file}: {example!r} ({intent}) has personal data masked; write in "
            "a made-up value (or delete the example) to merge it"
        )
    return 0


def _customer_erase(args: argparse.Namespace) -> int:
    """Erase a customer on request (the right to be forgotten): 0 done, 2 unknown customer."""

    from supportbot.console.audit import COMMAND_LINE
    from supportbot.privacy.erasure import conversations_of, erase_customer
    from supportbot.store import crm_session

    settings = get_settings()
    settings.require("audit_secret")  # the log names the customer by its keyed hash
    with crm_session() as crm:
        customer = crm.customers.find_by_email(args.email)
        if customer is None:
            print("error: no customer has that email address", file=sys.stderr)
            return 2
        customer_id, conversations = customer.id, len(conversations_of(crm.session, customer.id))
    print(
        f"Customer {customer_id}: {conversations} conversation(s) will be erased, their personal "
        "data removed from the CRM; orders and invoices stay as anonymised records."
    )
    if not args.yes and not _confirmed("Erase this customer? This cannot be undone [y/N] "):
        print("Nothing erased")
        return 1
    try:
        report = erase_customer(
            settings, customer_id, actor=COMMAND_LINE, reason=args.reason, source=COMMAND_LINE
        )
    except SQLAlchemyError as error:
        raise ValueError(
            f"a database failed during the erasure ({type(error).__name__}); it is logged: run "
            "the command again, or `supportbot customer reapply-erasures`, to finish it"
        ) from None
    print("\n".join(report.lines()))
    return 0


def _confirmed(prompt: str, accepted: Collection[str] = ("y", "yes")) -> bool:
    try:
        return input(prompt).strip().lower() in accepted
    except EOFError:  # no terminal to ask: not confirmed
        return False


def _customer_reapply(args: argparse.Namespace) -> int:
    from supportbot.privacy.erasure import reapply_erasures

    settings = get_settings()
    print(f"Re-applying the erasures logged in {settings.privacy.erasure_log}...")
    print(f"Re-applied {reapply_erasures(settings)} logged erasure(s)")
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
    backup = db.add_parser(
        "backup", help="back up the CRM and the tracker store into one archive (mode 0600)"
    )
    backup.add_argument(
        "--out", type=Path, help="the archive to write (default: <data dir>/backups/...tar.gz)"
    )
    backup.set_defaults(handler=_db_backup)
    restore = db.add_parser(
        "restore",
        help="replace the CRM and the tracker store with a backup (stop `supportbot run` first); "
        "the erasure log is applied again afterwards",
    )
    restore.add_argument("archive", type=Path)
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(handler=_db_restore)

    commands.add_parser(
        "satisfaction-check", help="compare satisfaction estimates with the CSAT customers gave"
    ).set_defaults(handler=_satisfaction_check)

    insights = commands.add_parser(
        "insights", help="what the CRM learns: segments, churn, value, satisfaction, rules, themes"
    ).add_subparsers(dest="insights_command", required=True)
    insights_run = insights.add_parser(
        "run", help="learn from the whole CRM now and store every customer's insights"
    )
    insights_run.add_argument(
        "--horizon-weeks",
        type=int,
        default=13,
        help="churn risk is the chance of no order within this many weeks (default 13)",
    )
    insights_run.add_argument(
        "--if-missing",
        action="store_true",
        help="only when no run has finished yet (what `make run` does for the demo CRM)",
    )
    insights_run.set_defaults(handler=_insights_run)
    insights_export = insights.add_parser(
        "export",
        help="write what the Spark job reads (ids, dates, amounts, SKUs, sentiment, ticket kinds; "
        "no names, emails or text) into a directory",
    )
    insights_export.add_argument("directory", type=Path)
    insights_export.set_defaults(handler=_insights_export)
    spark_help = (
        "segments and product rules of an export on Apache Spark; prints them and writes "
        "nothing to the CRM"
    )
    insights_spark = insights.add_parser("spark", help=spark_help, description=spark_help)
    insights_spark.add_argument(
        "directory", help="the export: a local directory, or a URI the cluster reads (hdfs://...)"
    )
    insights_spark.add_argument(
        "--master",
        help="the Spark master, e.g. spark://host:7077 (default: SUPPORTBOT_SPARK_MASTER, "
        "else local[2])",
    )
    insights_spark.add_argument(
        "--k", type=int, help="the number of segments (default: the best silhouette over 3-7)"
    )
    insights_spark.set_defaults(handler=_insights_spark)

    retention = commands.add_parser(
        "retention", help="erase conversations older than SUPPORTBOT_RETENTION_DAYS"
    ).add_subparsers(dest="retention_command", required=True)
    retention_run = retention.add_parser(
        "run", help="erase them now (those an agent tagged 'keep' are kept)"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="only count what would be erased"
    )
    retention_run.set_defaults(handler=_retention_run)

    token = commands.add_parser("token", help="mint a signed customer token (for testing)")
    token.add_argument("email")
    token.add_argument("--ttl", type=int, default=0, help="lifetime in seconds")
    token.set_defaults(handler=_token)

    customer = commands.add_parser("customer", help="customers' personal data")
    customer_commands = customer.add_subparsers(dest="customer_command", required=True)
    erase = customer_commands.add_parser(
        "erase", help="erase a customer on request: conversations, personal data (audited)"
    )
    erase.add_argument("email")
    erase.add_argument("--reason", required=True, help="why (kept in the audit trail, masked)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(handler=_customer_erase)
    customer_commands.add_parser(
        "reapply-erasures",
        help="erase again what the erasure log lists (after restoring an older backup)",
    ).set_defaults(handler=_customer_reapply)

    agent = commands.add_parser(
        "agent", help="agent logins and API tokens; claim, reply to and hand back a conversation"
    )
    agent_commands = agent.add_subparsers(dest="agent_command", required=True)
    for verb, text in (
        ("claim", "claim a conversation waiting for a person"),
        ("reply", "write to the customer of a conversation you have claimed"),
        ("resume", "hand a conversation you have claimed back to the bot"),
    ):
        takeover = agent_commands.add_parser(
            verb, help=f"{text} (as the agent of SUPPORTBOT_API_TOKEN, scope takeover)"
        )
        takeover.add_argument("sender_id")
        if verb == "reply":
            takeover.add_argument("text")
        takeover.add_argument("--url", help="the web app (default: SUPPORTBOT_WEB_HOST and _PORT)")
        takeover.set_defaults(handler=_takeover)
    create = agent_commands.add_parser(
        "create",
        help="create an agent login for the console (password from "
        "SUPPORTBOT_NEW_AGENT_PASSWORD, or asked for twice)",
    )
    create.add_argument("email")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=("agent", "admin"), default="agent")
    create.set_defaults(handler=_agent_create)
    for verb, text in (("disable", "stop an agent signing in"), ("enable", "let them again")):
        toggle = agent_commands.add_parser(verb, help=text)
        toggle.add_argument("email")
        toggle.set_defaults(handler=_agent_set_active)
    role = agent_commands.add_parser("role", help="make an agent an admin, or an agent again")
    role.add_argument("email")
    role.add_argument("role", choices=("agent", "admin"))
    role.set_defaults(handler=_agent_role)
    unlock = agent_commands.add_parser("unlock", help="lift an agent's login lockout now")
    unlock.add_argument("email")
    unlock.set_defaults(handler=_agent_unlock)
    password = agent_commands.add_parser(
        "password",
        help="set an agent's password (from SUPPORTBOT_NEW_AGENT_PASSWORD, or asked for twice)",
    )
    password.add_argument("email")
    password.set_defaults(handler=_agent_password)

    tokens = agent_commands.add_parser(
        "token", help="API tokens for scripts, issued by an admin"
    ).add_subparsers(dest="token_command", required=True)
    issue = tokens.add_parser(
        "create",
        help="issue a token that acts as an agent for named scopes (the admin's password from "
        "SUPPORTBOT_ADMIN_PASSWORD, or asked for); printed once",
    )
    issue.add_argument("email", help="the agent the token acts as")
    issue.add_argument(
        "--scope",
        action="append",
        required=True,
        help="takeover, conversations:read or conversations:export (repeat for several)",
    )
    issue.add_argument("--admin", required=True, help="the issuing admin's email")
    issue.add_argument("--days", type=int, default=30)
    issue.add_argument("--label", default="", help="what the token is for")
    issue.set_defaults(handler=_token_create)
    tokens.add_parser("list", help="every token: agent, scopes, expiry, state").set_defaults(
        handler=_token_list
    )
    revoke = tokens.add_parser("revoke", help="revoke a token (by the id `list` shows)")
    revoke.add_argument("token_id", type=int)
    revoke.add_argument("--admin", required=True, help="the revoking admin's email")
    revoke.set_defaults(handler=_token_revoke)

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
    # Files the commands create (databases, logs, secrets, backups) are their owner's only;
    # a caller in the same process (the tests) gets its own umask back.
    previous = os.umask(0o077)
    try:
        return run_command(build_parser(), argv)
    finally:
        os.umask(previous)


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
    except (ValueError, FileNotFoundError, RasaUnavailable, RasaRequestError, AuthError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        # The type only: a database error's text quotes its SQL parameters (an email, a note).
        print(f"error: a database failed ({type(error).__name__})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
