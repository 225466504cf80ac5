"""`supportbot run`: start the action server, the Rasa server and the web app, and watch them.

Each process runs under the redacting runner (supportbot.privacy.log_redaction), which writes
its output to `<data dir>/logs/<name>.log` (mode 600) with personal data masked. The launcher
prints the URLs once all three answer, stops them all on Ctrl-C (or SIGTERM), and if one dies it
says which, shows the end of its log and stops the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import httpx
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from supportbot.privacy.log_redaction import redacted
from supportbot.privacy.retention import RetentionSchedule
from supportbot.settings import (
    PROJECT_ROOT,
    SECRET_VARIABLES,
    Settings,
    ensure_local_secrets,
    get_settings,
)

STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 30
# Where each server reads its number of Sanic workers (rasa/core/utils.py, rasa_sdk/constants.py).
RASA_WORKERS_VARIABLE = "SANIC_WORKERS"
ACTION_WORKERS_VARIABLE = "ACTION_SERVER_SANIC_WORKERS"


class LaunchError(RuntimeError):
    """A process could not start, died, or never became ready."""


@dataclass
class Service:
    """One child process and how to tell that it is ready."""

    name: str
    command: list[str]
    ready: Callable[[], bool]
    log_path: Path
    # Variables of this process only, over the launcher's environment (a secret among them).
    env: dict[str, str] = field(default_factory=dict, repr=False)
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._log = open_private(self.log_path)
        self.process = subprocess.Popen(
            # Every line the process prints goes through the runner, masked, into the log.
            redacted(self.command),
            cwd=PROJECT_ROOT,
            env={**env, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C reaches only the launcher, which stops children in order.
            start_new_session=True,
            # What the processes create (databases, the review file) is their owner's only.
            umask=0o077,
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def is_ready(self) -> bool:
        try:
            return self.ready()
        except (httpx.HTTPError, ValueError):
            return False

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def make_data_private(data_dir: Path) -> None:
    """Owner-only modes for the SQLite files an older version created world-readable (new ones
    are created 0600 under umask 077)."""
    for path in data_dir.glob("*.db*"):
        if path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def open_private(path: Path) -> IO[bytes]:
    """`path` emptied (or created) for writing, readable by its owner only, as it already was
    when an older version made it readable by others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _http_ok(url: str, **params: str) -> bool:
    return httpx.get(url, params=params, timeout=5).status_code == 200


def _rasa_has_model(url: str, token: str) -> bool:
    # Only in a header: Rasa refuses a token in the query (assistant/server.py).
    response = httpx.get(f"{url}/status", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    return response.status_code == 200 and bool(response.json().get("model_file"))


def services(settings: Settings) -> list[Service]:
    """The three processes, in start order, with their readiness checks."""
    logs = settings.data_dir / "logs"
    token = settings.require("rasa_api_token")
    rasa_port = httpx.URL(settings.rasa_url).port or 5005
    action_host = (
        "127.0.0.1" if settings.action_server_host == "0.0.0.0" else settings.action_server_host
    )
    action_url = f"http://{action_host}:{settings.action_server_port}"
    web_url = f"http://{settings.web_host}:{settings.web_port}"
    port = ("--port", str(settings.action_server_port))
    return [
        Service(
            "actions",
            # rasa-sdk's app behind the shared secret (actions/server.py), which it reads from
            # the environment like Rasa does.
            [sys.executable, "-m", "actions.server", *port],
            lambda: _http_ok(f"{action_url}/health"),
            logs / "actions.log",
            {ACTION_WORKERS_VARIABLE: str(settings.action_workers)},
        ),
        Service(
            "rasa",
            [
                *(str(settings.rasa_python), "-m", "assistant.server", "run", "--enable-api"),
                *("-i", "127.0.0.1", "-p", str(rasa_port), "--model", str(settings.model_path)),
                *("--endpoints", "endpoints.yml", "--credentials", "credentials.yml"),
            ],
            lambda: _rasa_has_model(settings.rasa_url, token),
            logs / "rasa.log",
            {
                # Read by assistant/server.py: a token on the command line is public on this host.
                SECRET_VARIABLES["rasa_api_token"]: token,
                RASA_WORKERS_VARIABLE: str(settings.rasa_workers),
            },
        ),
        Service(
            "web",
            [sys.executable, "-m", "supportbot.cli", "web"],
            lambda: _http_ok(f"{web_url}/healthz"),
            logs / "web.log",
        ),
    ]


def _check_prerequisites(settings: Settings) -> None:
    if not settings.model_path.exists():
        raise LaunchError(
            f"no trained model at {settings.model_path}: run `make train` (or `make run`)"
        )
    if not settings.rasa_python.exists():
        raise LaunchError(
            f"Rasa's Python is not at {settings.rasa_python}: run `make setup`, or set "
            "SUPPORTBOT_RASA_PYTHON"
        )


def _unreachable(url: str) -> str | None:
    """Why the database at `url` cannot be opened, or None when it answers."""
    engine = create_engine(
        url, connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {}
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        return f"{type(error).__name__}: {reason[0] if reason else 'no details'}"
    finally:
        engine.dispose()
    return None


def _check_stores(settings: Settings) -> None:
    """Name a database that cannot be reached before anything starts: Rasa would wait for its
    tracker store for ever, and every action would fail on the CRM."""
    stores = {
        "the CRM database": settings.database_url,
        "Rasa's tracker store": settings.tracker_store_url,
    }
    for name, url in stores.items():
        if not url:
            continue
        reason = _unreachable(url)
        if reason:
            shown = make_url(url).render_as_string(hide_password=True)
            raise LaunchError(f"{name} ({shown}) is unreachable: {reason}")


def _fail_if_any_exited(running: list[Service], when: str) -> None:
    for service in running:
        code = service.exit_code()
        if code is not None:
            raise LaunchError(
                f"{service.name} exited with code {code} {when}. "
                f"End of {service.log_path}:\n{service.log_tail()}"
            )


def _wait_until_ready(running: list[Service], timeout_s: int) -> None:
    pending = list(running)
    deadline = time.monotonic() + timeout_s
    last_note = 0.0
    while pending:
        _fail_if_any_exited(running, "while starting")
        pending = [service for service in pending if not service.is_ready()]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(service.name for service in pending)
            raise LaunchError(f"{names} did not become ready within {timeout_s} s")
        if time.monotonic() - last_note > 15:
            names = ", ".join(service.name for service in pending)
            print(f"   waiting for {names} (Rasa needs about a minute to load its model)...")
            last_note = time.monotonic()
        time.sleep(1)


class _Stop(Exception):
    """Ctrl-C or SIGTERM."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def launch(settings: Settings | None = None) -> int:
    """Start everything and block until Ctrl-C or until a process dies. Returns an exit code."""
    if settings is None:
        ensure_local_secrets(get_settings().data_dir)
        get_settings.cache_clear()
        settings = get_settings()
    env = {**os.environ, **settings.rasa_environment, "RASA_TELEMETRY_ENABLED": "false"}
    env.setdefault("HF_HUB_OFFLINE", "1")
    all_services = services(settings)
    started: list[Service] = []
    schedule: RetentionSchedule | None = None
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _check_prerequisites(settings)
        _check_stores(settings)
        make_data_private(settings.data_dir)
        started_at = time.monotonic()
        for service in all_services:
            print(f"== Starting {service.name} (log: {service.log_path})")
            service.start(env)
            started.append(service)
        _wait_until_ready(started, settings.startup_timeout_seconds)
        print(f"== Everything is up after {time.monotonic() - started_at:.0f} s:")
        print(f"   chat page      http://{settings.web_host}:{settings.web_port}/")
        if settings.demo_pages:
            print(f"   as Ada         http://{settings.web_host}:{settings.web_port}/demo/ada")
            print(f"   as Grace       http://{settings.web_host}:{settings.web_port}/demo/grace")
        else:
            print("   (the demo customers' pages: SUPPORTBOT_DEMO_PAGES=1 make run)")
        print(f"   agent console  http://{settings.web_host}:{settings.web_port}/console")
        print(f"   Rasa server    {settings.rasa_url}")
        print(
            f"   action server  http://{settings.action_server_host}:{settings.action_server_port}"
        )
        print("   Ctrl-C stops everything.")
        if settings.privacy.retention_interval_hours:
            schedule = RetentionSchedule(settings)
            schedule.start()
        while True:
            _fail_if_any_exited(started, "while running")
            time.sleep(1)
    except _Stop:
        print("\n== Stopping...")
        return 0
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if schedule is not None:
            schedule.stop()
        for service in reversed(started):
            service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started:
            print("== All processes stopped")
