"""The whole stack for tests: a Rasa 3.6.21 server and the rasa-sdk action server, on free ports,
with a fresh seeded SQLite CRM and tracker store. Started once per test session, on demand."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from supportbot.crm.seed import seed_demo_data
from supportbot.kb.seed import seed_articles
from supportbot.settings import Settings
from supportbot.store import crm_session, migrate

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path(os.environ.get("SUPPORTBOT_MODEL", ROOT / "models" / "supportbot.tar.gz"))
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
API_TOKEN = "integration-test-token-0123456789"
IDENTITY_SECRET = "integration-identity-secret-0123456789"
AGENT_TOKEN = "integration-agent-token-0123456789"
# Signs the widget's conversation ids; the web app and Rasa's socket.io channel share it.
SESSION_SECRET = "stack-session-secret-0123456789abcdef"
STARTUP_TIMEOUT_S = 240


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


@dataclass
class Stack:
    rasa_url: str
    crm_url: str
    tracker_db: Path

    def web_settings(self) -> Settings:
        """Settings for the real web app in front of this stack (demo pages on)."""
        return Settings(
            rasa_url=self.rasa_url,
            rasa_api_token=API_TOKEN,
            session_secret=SESSION_SECRET,
            agent_api_token=AGENT_TOKEN,
            identity_secret=IDENTITY_SECRET,
            database_url=self.crm_url,
            demo_pages=True,
            # Examples agents mark in browser tests stay out of the project's var/review.
            review_file=self.tracker_db.parent / "review" / "nlu_review.yml",
        )

    def say(self, sender: str, text: str) -> list[dict]:
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists() or not RASA_PYTHON.exists():
        pytest.skip(f"needs a trained model at {MODEL} and {RASA_PYTHON} (run `make train`)")
    work = tmp_path_factory.mktemp("stack")
    crm_url = f"sqlite:///{work / 'crm.db'}"
    migrate(crm_url)
    with crm_session(crm_url) as crm:
        seed_demo_data(crm.session, customers=20)
        seed_articles(crm.session)
    action_port, rasa_port = free_port(), free_port()
    rasa_side = Settings.from_env(
        {
            "SUPPORTBOT_DATA_DIR": str(work),
            "SUPPORTBOT_ACTION_PORT": str(action_port),
            "SUPPORTBOT_WEB_PORT": str(WEB_PORT),
            "SUPPORTBOT_SESSION_SECRET": SESSION_SECRET,
        }
    ).rasa_environment
    env = {
        **os.environ,
        **rasa_side,
        "SUPPORTBOT_DATABASE_URL": crm_url,
        "SUPPORTBOT_IDENTITY_SECRET": IDENTITY_SECRET,
        "SUPPORTBOT_RASA_TOKEN": API_TOKEN,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    logs = [work / "actions.log", work / "rasa.log"]
    commands = [
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
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
    processes = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        for cmd, log in zip(commands, logs, strict=True)
    ]
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{action_port}/health").status_code == 200,
            "action server",
            processes,
            logs,
        )
        wait_until(
            lambda: bool(
                httpx.get(f"{rasa_url}/status", params={"token": API_TOKEN})
                .json()
                .get("model_file")
            ),
            "Rasa server",
            processes,
            logs,
        )
        yield Stack(rasa_url=rasa_url, crm_url=crm_url, tracker_db=work / "tracker.db")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
