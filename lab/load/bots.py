"""The bots under test, started and stopped the same way: a stock `rasa init` bot and the
project's stack (`supportbot run`, as `make run` starts it, and optionally its scaled
configuration), each on ports of its own.

The stock bot is Rasa's own starter project (rasa/cli/initial_project, what `rasa init` copies),
trained once in the Rasa environment and cached under var/load/. It keeps Rasa's defaults: the
in-memory tracker store and no action server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, make_url, text

from lab.load.customers import customer_message
from supportbot.settings import (
    PROJECT_ROOT,
    ensure_local_secrets,
    read_local_secrets,
    scaled_environment,
)

RASA_VENV = PROJECT_ROOT / ".venv-rasa"
APP_VENV = PROJECT_ROOT / ".venv"
STARTUP_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
# The quick run's stock bot trains a few epochs only: it proves the path, it measures nothing.
QUICK_EPOCHS = 2


class BotError(RuntimeError):
    """A bot could not be built, started or stopped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quiet_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "HF_HUB_OFFLINE": "1", **(extra or {})}


def process_tree(root_pid: int) -> list[int]:
    """A process and all its descendants, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the ppid follows the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total = 0
    for pid in process_tree(root_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def descendants(root_pid: int, contains: str) -> list[int]:
    """Pids under `root_pid` whose command line contains `contains`."""
    found = []
    for pid in process_tree(root_pid)[1:]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if contains in cmdline:
            found.append(pid)
    return found


@dataclass
class RunningBot:
    """A started bot: its URL, its root process and how long it took to answer."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    api_token: str | None
    # The project's REST channel answers only messages signed with it; the stock bot has none.
    session_secret: str | None = None
    startup_s: float = 0.0
    rasa_pids: list[int] = field(default_factory=list)
    action_pids: list[int] = field(default_factory=list)

    def rss(self) -> int:
        return rss_bytes(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def tracker(self, sender: str) -> dict:
        headers = {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}
        response = httpx.get(
            f"{self.url}/conversations/{sender}/tracker",
            params={"include_events": "ALL"},
            headers=headers,
            timeout=30,
        )
        response.raise_for_status()
        return dict(response.json())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _wait_for_first_answer(bot: RunningBot, started: float, log: Callable[[str], None]) -> None:
    """Poll with a real message until the bot has handled it: start-up ends at the first 200
    from the REST channel, whatever the bot said (a quick run's capped stock bot may say
    nothing)."""
    probe = f"startup-{uuid.uuid4().hex[:8]}"
    deadline = started + STARTUP_TIMEOUT_S
    last_note = started
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise BotError(f"{bot.name} exited with {bot.process.returncode}:\n{bot.log_tail()}")
        try:
            response = httpx.post(
                f"{bot.url}/webhooks/rest/webhook",
                **customer_message(probe, "hi", bot.session_secret),
                timeout=30,
            )
            if response.status_code == 200 and isinstance(response.json(), list):
                bot.startup_s = time.monotonic() - started
                return
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() - last_note > 20:
            log(f"    waiting for {bot.name} to answer ({time.monotonic() - started:.0f} s)")
            last_note = time.monotonic()
        time.sleep(0.25)
    raise BotError(f"{bot.name} did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n{bot.log_tail()}")


def _launch(
    name: str,
    command: list[str],
    cwd: Path | None,
    env: dict[str, str],
    log_path: Path,
    port: int,
    api_token: str | None,
    log: Callable[[str], None],
    session_secret: str | None = None,
) -> RunningBot:
    """Start a bot's root process (in a session of its own) and wait for its first answer."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    bot = RunningBot(name, f"http://127.0.0.1:{port}", process, log_path, api_token, session_secret)
    try:
        _wait_for_first_answer(bot, started, log)
    except BaseException:
        bot.stop()
        raise
    return bot


class StockBot:
    """Rasa's starter project, untouched (in quick mode: epochs capped, labelled so)."""

    def __init__(self, work_dir: Path, *, quick: bool) -> None:
        self.quick = quick
        self.dir = work_dir / ("stock-quick" if quick else "stock")
        self.model = self.dir / "models" / "stock.tar.gz"

    def build(self, log: Callable[[str], None]) -> None:
        if self.model.exists():
            log(f"  stock bot: cached at {self.dir}")
            return
        template = next(RASA_VENV.glob("lib/python*/site-packages/rasa/cli/initial_project"), None)
        if template is None:
            raise BotError(f"Rasa's starter project is not in {RASA_VENV}: run `make setup`")
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.copytree(template, self.dir)
        if self.quick:
            _cap_epochs(self.dir / "config.yml", QUICK_EPOCHS)
        log(f"  stock bot: training Rasa's starter project in {self.dir} (once; cached)")
        started = time.monotonic()
        completed = subprocess.run(
            [str(RASA_VENV / "bin" / "rasa"), "train", "--fixed-model-name", "stock"],
            cwd=self.dir,
            env=_quiet_env(),
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0 or not self.model.exists():
            raise BotError(f"training the stock bot failed:\n{completed.stdout[-3000:]}")
        log(f"  stock bot: trained in {time.monotonic() - started:.0f} s")

    def start(self, work_dir: Path, log: Callable[[str], None]) -> RunningBot:
        port = free_port()
        log_path = work_dir / "logs" / "stock-rasa.log"
        command = [
            str(RASA_VENV / "bin" / "rasa"),
            *("run", "--enable-api", "-i", "127.0.0.1", "-p", str(port)),
            *("--model", str(self.model)),
        ]
        bot = _launch("stock", command, self.dir, _quiet_env(), log_path, port, None, log)
        bot.rasa_pids = [bot.process.pid]
        return bot


def _cap_epochs(config_path: Path, epochs: int) -> None:
    """The starter config with its default pipeline and policies written out, epochs capped."""
    config = yaml.safe_load(config_path.read_text())
    config["pipeline"] = [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": epochs},
        {"name": "EntitySynonymMapper"},
        {"name": "ResponseSelector", "epochs": epochs},
        {"name": "FallbackClassifier", "threshold": 0.3},
    ]
    config["policies"] = [
        {"name": "MemoizationPolicy"},
        {"name": "RulePolicy"},
        {"name": "UnexpecTEDIntentPolicy", "max_history": 5, "epochs": epochs},
        {"name": "TEDPolicy", "max_history": 5, "epochs": epochs},
    ]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


class ProjectStack:
    """`supportbot run` on a fresh seeded CRM and tracker store of its own."""

    def __init__(
        self, work_dir: Path, *, name: str = "project", env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.data_dir = work_dir / name
        self.env = dict(env or {})

    def _env(self, rasa_port: int, action_port: int, web_port: int) -> dict[str, str]:
        return _quiet_env(
            {
                "SUPPORTBOT_DATA_DIR": str(self.data_dir),
                "SUPPORTBOT_RASA_URL": f"http://127.0.0.1:{rasa_port}",
                "SUPPORTBOT_ACTION_PORT": str(action_port),
                "SUPPORTBOT_WEB_PORT": str(web_port),
                "SUPPORTBOT_DEMO_PAGES": "0",
                "SUPPORTBOT_LOG_LEVEL": "WARNING",
                **self.env,
            }
        )

    def start(self, work_dir: Path, log: Callable[[str], None]) -> RunningBot:
        # A fresh store each run, so the nothing-lost counts see this run's conversations only;
        # with the write-ahead logs, which must not meet a new database.
        for name in ("crm.db", "tracker.db"):
            for suffix in ("", "-wal", "-shm"):
                (self.data_dir / f"{name}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.data_dir / "logs", ignore_errors=True)
        rasa_port, action_port, web_port = free_port(), free_port(), free_port()
        env = self._env(rasa_port, action_port, web_port)
        ensure_local_secrets(self.data_dir, env)
        supportbot = str(APP_VENV / "bin" / "supportbot")
        for command in (["db", "migrate"], ["db", "seed"]):
            done = subprocess.run([supportbot, *command], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BotError(f"`supportbot {' '.join(command)}` failed:\n{done.stderr[-2000:]}")
        log_path = work_dir / "logs" / f"{self.name}-launcher.log"
        secrets = {**read_local_secrets(self.data_dir), **env}
        bot = _launch(
            self.name,
            [supportbot, "run"],
            None,
            env,
            log_path,
            rasa_port,
            secrets.get("SUPPORTBOT_RASA_TOKEN"),
            log,
            secrets.get("SUPPORTBOT_SESSION_SECRET"),
        )
        bot.rasa_pids = descendants(bot.process.pid, "assistant.server run")
        bot.action_pids = descendants(bot.process.pid, "actions.server")
        return bot

    @property
    def crm_url(self) -> str:
        return self.env.get("SUPPORTBOT_DATABASE_URL") or f"sqlite:///{self.data_dir / 'crm.db'}"


# The scaled configuration's services (PostgreSQL, Redis): this machine's own by default.
POSTGRES_URL_VARIABLE = "SUPPORTBOT_BENCH_POSTGRES_URL"
REDIS_URL_VARIABLE = "SUPPORTBOT_BENCH_REDIS_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SCALED_WORKERS = 2


@contextmanager
def scaled_databases_and_environment() -> Iterator[dict[str, str]]:
    """The scaled configuration's settings: SCALED_WORKERS Rasa and action-server workers, the
    Redis lock store and socket.io queue, and fresh PostgreSQL databases for the tracker store
    and the CRM (dropped afterwards). The URLs come from the environment, never the command
    line (they may hold a password)."""
    postgres = os.environ.get(POSTGRES_URL_VARIABLE, "") or DEFAULT_POSTGRES_URL
    redis_url = os.environ.get(REDIS_URL_VARIABLE, "") or DEFAULT_REDIS_URL
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    names = {role: f"supportbot_load_{role}" for role in ("crm", "tracker")}
    try:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as error:
        admin.dispose()
        raise BotError(
            f"the scaled run needs PostgreSQL ({POSTGRES_URL_VARIABLE}): {error}"
        ) from None
    url = {
        role: make_url(postgres).set(database=name).render_as_string(hide_password=False)
        for role, name in names.items()
    }
    try:
        yield {
            **scaled_environment(url["tracker"], redis_url, SCALED_WORKERS),
            "SUPPORTBOT_DATABASE_URL": url["crm"],
        }
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
