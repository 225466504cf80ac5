"""The whole stack for tests: a Rasa 3.6.21 server and the rasa-sdk action server, on free ports,
with a fresh seeded CRM and tracker store. Started once per test session, on demand.

`stack` is the embedded default (one worker each, SQLite, in-memory lock store). `scaled_stack` is
the scaled-out configuration, set up through the same settings as `supportbot run`: two Sanic
workers for each server, the Redis lock store, the socket.io channel's Redis message queue, and
PostgreSQL for the tracker store and the CRM (fresh databases, dropped afterwards). It runs when
SUPPORTBOT_TEST_POSTGRES_URL and SUPPORTBOT_TEST_REDIS_URL name servers that answer (.ci/run sets
both), and is skipped, saying which is missing, otherwise."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, make_url, text

from common.channel_signing import signed_json
from supportbot.crm.seed import seed_demo_data
from supportbot.kb.seed import seed_articles
from supportbot.launcher import ACTION_WORKERS_VARIABLE, RASA_WORKERS_VARIABLE
from supportbot.privacy.log_redaction import redacted
from supportbot.settings import PrivacyRules, Settings, scaled_environment
from supportbot.store import crm_session, migrate
from supportbot.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path(os.environ.get("SUPPORTBOT_MODEL", ROOT / "models" / "supportbot.tar.gz"))
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
API_TOKEN = "integration-test-token-0123456789"
IDENTITY_SECRET = "integration-identity-secret-0123456789"
AUDIT_SECRET = "integration-audit-secret-0123456789"
# Signs the widget's conversation ids; the web app and Rasa's socket.io channel share it.
SESSION_SECRET = "stack-session-secret-0123456789abcdef"
# Rasa takes its API token only in this header (assistant/server.py).
API_HEADERS = {"Authorization": f"Bearer {API_TOKEN}"}
# What Rasa shows the action server on every call (actions/server.py).
ACTION_SECRET = "stack-action-secret-0123456789abcdef"
STARTUP_TIMEOUT_S = 240
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "")
SCALED_WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The web app's port: the socket.io channel's allowed origin, and where the browser tests serve it.
WEB_PORT = free_port()


def wait_until(check, what: str, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                pytest.fail(
                    f"{log.stem} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
                )
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"{what} did not become ready within {STARTUP_TIMEOUT_S} s")


def established_connections(pid: int) -> set[tuple[int, int]]:
    """(local port, remote port) of each established TCP connection that process `pid` holds,
    from /proc: which worker of a server accepted a given client connection."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    connections = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            _, local, remote, state, *_, inode = line.split()[:10]
            if state == "01" and inode in inodes:  # 01: ESTABLISHED
                connections.add(
                    (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
                )
    return connections


def _descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # exited
        return []
    return [grandchild for child in children for grandchild in [child, *_descendants(child)]]


def _server_processes(server: subprocess.Popen) -> list[int]:
    """A server's processes: the redacting runner, the server under it and its Sanic workers."""
    if server.poll() is not None:
        return []
    return [*_descendants(server.pid), server.pid]


def worker_of(server: subprocess.Popen, server_port: int, client_port: int) -> int:
    """The process of `server` at the other end of this machine's connection from client_port."""
    for pid in _server_processes(server):
        if (server_port, client_port) in established_connections(pid):
            return pid
    raise AssertionError(f"no worker of process {server.pid} holds the client port {client_port}")


def _workers_with_a_model(rasa_url: str, rasa: subprocess.Popen) -> set[int]:
    """The Rasa workers that answered /status with a loaded model, over fresh connections."""
    answered = set()
    for _ in range(4 * len(_server_processes(rasa))):
        with httpx.Client(timeout=5) as client:
            response = client.get(f"{rasa_url}/status", headers=API_HEADERS)
            if response.status_code == 200 and response.json().get("model_file"):
                client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
                answered.add(worker_of(rasa, urlsplit(rasa_url).port or 80, client_port))
    return answered


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """A real web app with `settings` on `port`, in a thread, until the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        pytest.fail("the web app did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Stack:
    rasa_url: str
    crm_url: str
    work: Path
    # The Rasa server's main process (with several workers, their parent).
    rasa: subprocess.Popen
    # The action server's main process (its Sanic workers are its children).
    actions: subprocess.Popen
    # Stops a server ("actions" or "rasa") if it still runs, starts it as the stack first did
    # and waits until it answers (tests of faults).
    restart: Callable[[str], None] = field(repr=False)
    # Where the action server listens (only Rasa, with the secret, gets answers there).
    action_url: str = ""
    # The tracker store's variables, as Rasa got them (erasure opens the same database).
    rasa_environment: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def rasa_port(self) -> int:
        return urlsplit(self.rasa_url).port or 80

    def rasa_worker(self, client_port: int) -> int:
        """The pid of the Rasa worker serving this machine's connection from client_port."""
        return worker_of(self.rasa, self.rasa_port, client_port)

    @property
    def tracker_db(self) -> Path:
        """The SQLite tracker store (the default stack only)."""
        return self.work / "tracker.db"

    def web_settings(self) -> Settings:
        """Settings for the real web app in front of this stack (demo pages on)."""
        return Settings(
            rasa_url=self.rasa_url,
            rasa_api_token=API_TOKEN,
            session_secret=SESSION_SECRET,
            audit_secret=AUDIT_SECRET,
            identity_secret=IDENTITY_SECRET,
            database_url=self.crm_url,
            demo_pages=True,
            # Examples agents mark in browser tests, and erasures, stay out of the project's var/.
            review_file=self.work / "review" / "nlu_review.yml",
            privacy=PrivacyRules(erasure_log=self.work / "privacy" / "erasure-log.jsonl"),
            rasa_environment=self.rasa_environment,
        )

    def say(self, sender: str, text: str) -> list[dict]:
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook", **signed_message(sender, text), timeout=60
        )
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", headers=API_HEADERS, timeout=30
        )
        response.raise_for_status()
        return dict(response.json())


def signed_message(sender: str, text: str, client_address: str | None = None) -> dict[str, Any]:
    """A customer message to Rasa's REST channel as the web app sends it (httpx's `content` and
    `headers`): signed with the session secret, from a browser at `client_address`; by default
    each conversation's own (in 2001:db8::/32, the documentation range), so one test's failed
    verifications never lock out another's (the action server counts them per client)."""
    if client_address is None:
        digest = hashlib.sha256(sender.encode()).hexdigest()
        client_address = f"2001:db8::{digest[:4]}:{digest[4:8]}"
    body, headers = signed_json(
        {"sender": sender, "message": text, "client_address": client_address}, SESSION_SECRET
    )
    return {"content": body, "headers": headers}


def seeded_customer(crm_url: str, index: int) -> tuple[str, int]:
    """The email and first order number of the `index`-th seeded customer after Ada and Grace.

    Failed verifications are counted per email and per order across conversations, so a test
    that verifies (or fails on purpose) takes a customer no other test on the stack uses."""
    from sqlalchemy import select

    from supportbot.crm.models import Customer, Order

    with crm_session(crm_url) as crm:
        customers = crm.session.scalars(
            select(Customer)
            .where(Customer.email.not_in(["ada@example.com", "grace@example.com"]))
            .where(Customer.orders.any())
            .order_by(Customer.id)
        ).all()
        customer = customers[index]
        first = crm.session.scalars(
            select(Order.number).where(Order.customer_id == customer.id).order_by(Order.number)
        ).first()
        assert first is not None
        return customer.email, first


def agent_token(crm_url: str, email: str, name: str, scopes: list[str]) -> str:
    """An API token with `scopes` for a new agent, issued by a new admin (as an admin's
    `supportbot agent token create` does)."""
    from supportbot.console.audit import Source
    from supportbot.console.auth import Agents, CurrentAgent
    from supportbot.console.models import AgentRole
    from supportbot.console.tokens import AgentTokens
    from supportbot.crm.models import utcnow

    with crm_session(crm_url) as crm:
        agents = Agents(crm.session)
        agent = agents.create(email, name, "integration-password")
        admin = agents.create(
            f"admin-{email}", "Robin Admin", "integration-password", AgentRole.ADMIN
        )
        crm.session.flush()
        issued = AgentTokens(crm.session).issue(
            agent,
            scopes,
            days=1,
            issued_by=CurrentAgent.of(admin, utcnow()),
            source=Source.command_line(AUDIT_SECRET),
        )
        return issued.token


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    crm_url = f"sqlite:///{work / 'crm.db'}"
    yield from _run_stack(work, crm_url, {})


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A default stack of the module's own, for tests that stop, break or restart its parts."""
    work = tmp_path_factory.mktemp("fault-stack")
    # At DEBUG, where Rasa logs what customers say: the canary (test_faults.py) finds it masked.
    yield from _run_stack(work, f"sqlite:///{work / 'crm.db'}", {}, log_level="DEBUG")


@pytest.fixture(scope="session")
def scaled_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _skip_unless_scaled_services_answer()
    work = tmp_path_factory.mktemp("scaled-stack")
    with _postgres_database("crm") as crm_url, _postgres_database("tracker") as tracker_url:
        yield from _run_stack(
            work, crm_url, scaled_environment(tracker_url, REDIS_URL, SCALED_WORKERS)
        )


def _skip_unless_scaled_services_answer() -> None:
    for variable, url, default_port in (
        ("SUPPORTBOT_TEST_POSTGRES_URL", POSTGRES_URL, 5432),
        ("SUPPORTBOT_TEST_REDIS_URL", REDIS_URL, 6379),
    ):
        if not url:
            pytest.skip(f"the scaled stack needs {variable} (.ci/run sets it when the server runs)")
        address = urlsplit(url)
        try:
            socket.create_connection((address.hostname, address.port or default_port), 2).close()
        except OSError as error:
            pytest.skip(f"the scaled stack needs the server {variable} names: {error}")


@contextmanager
def _postgres_database(role: str) -> Iterator[str]:
    """A fresh database on the server SUPPORTBOT_TEST_POSTGRES_URL names, dropped afterwards."""
    name = f"supportbot_it_{role}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            # Left over by an interrupted run: its processes are gone, their sessions may not be.
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def _run_stack(
    work: Path, crm_url: str, scale: Mapping[str, str], log_level: str = "INFO"
) -> Iterator[Stack]:
    if not MODEL.exists() or not RASA_PYTHON.exists():
        pytest.skip(f"needs a trained model at {MODEL} and {RASA_PYTHON} (run `make train`)")
    migrate(crm_url)
    with crm_session(crm_url) as crm:
        seed_demo_data(crm.session, customers=20, support_history=False)
        seed_articles(crm.session)
    action_port, rasa_port = free_port(), free_port()
    settings = Settings.from_env(
        {
            "SUPPORTBOT_DATA_DIR": str(work),
            "SUPPORTBOT_ACTION_PORT": str(action_port),
            "SUPPORTBOT_WEB_PORT": str(WEB_PORT),
            "SUPPORTBOT_SESSION_SECRET": SESSION_SECRET,
            "SUPPORTBOT_ACTION_SECRET": ACTION_SECRET,
            **scale,
        }
    )
    env = {
        **os.environ,
        **settings.rasa_environment,
        "SUPPORTBOT_DATABASE_URL": crm_url,
        "SUPPORTBOT_IDENTITY_SECRET": IDENTITY_SECRET,
        "SUPPORTBOT_RASA_TOKEN": API_TOKEN,
        "RASA_TELEMETRY_ENABLED": "false",
        # Rasa's level, and the action server's.
        "LOG_LEVEL": log_level,
        "SUPPORTBOT_LOG_LEVEL": log_level,
        # An erasure the chat asks for: logged, and the review file cleaned, in the stack's folder
        # (the same files as web_settings()).
        "SUPPORTBOT_AUDIT_SECRET": AUDIT_SECRET,
        "SUPPORTBOT_ERASURE_LOG": str(work / "privacy" / "erasure-log.jsonl"),
        "SUPPORTBOT_REVIEW_FILE": str(work / "review" / "nlu_review.yml"),
    }
    logs = [work / "actions.log", work / "rasa.log"]
    commands = [
        [sys.executable, "-m", "actions.server", "--port", str(action_port)],
        [
            str(RASA_PYTHON),
            *("-m", "assistant.server", "run", "--enable-api"),
            "-i",
            "127.0.0.1",
            "-p",
            str(rasa_port),
            "--model",
            str(MODEL),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ],
    ]
    # Each with its number of workers, as `supportbot run` starts them.
    workers = [
        {ACTION_WORKERS_VARIABLE: str(settings.action_workers)},
        {RASA_WORKERS_VARIABLE: str(settings.rasa_workers)},
    ]

    def start(index: int) -> subprocess.Popen:
        # Under the redacting runner, as `supportbot run` starts them: the logs are masked.
        log = os.open(logs[index], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            return subprocess.Popen(
                redacted(commands[index]),
                cwd=ROOT,
                env={**env, **workers[index]},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            os.close(log)

    processes = [start(0), start(1)]
    rasa_url = f"http://127.0.0.1:{rasa_port}"

    action_url = f"http://127.0.0.1:{action_port}"

    def wait_for_actions() -> None:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{action_port}/health").status_code == 200,
            "action server",
            processes,
            logs,
        )

    def wait_for_rasa() -> None:
        # With several workers, each loads the model: wait until all of them answer.
        wait_until(
            lambda: len(_workers_with_a_model(rasa_url, processes[1])) == settings.rasa_workers,
            "Rasa server",
            processes,
            logs,
        )

    def restart(name: str) -> None:
        index = ["actions", "rasa"].index(name)
        _stop([processes[index]])
        processes[index] = start(index)
        (wait_for_actions if index == 0 else wait_for_rasa)()
        stack.actions, stack.rasa = processes

    try:
        wait_for_actions()
        wait_for_rasa()
        stack = Stack(
            rasa_url,
            crm_url,
            work,
            processes[1],
            processes[0],
            restart,
            action_url,
            settings.rasa_environment,
        )
        yield stack
    finally:
        _stop(processes)


def signal_server(server: subprocess.Popen, signum: int) -> None:
    """Send `signum` to a server's workers and to the server itself."""
    for pid in _server_processes(server):
        with suppress(ProcessLookupError):
            os.kill(pid, signum)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            signal_server(process, signal.SIGCONT)  # a stopped server never sees SIGTERM
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
