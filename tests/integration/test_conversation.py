"""The whole stack: a Rasa 3.6.21 server and our rasa-sdk action server, over HTTP.

This proves that the newer rasa-sdk in .venv speaks the webhook protocol of the 3.6.21 server,
and that a conversation lands in the tracker store and the CRM.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.crm import crm_session, migrate
from bot.crm.seed import seed_demo_data
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.web.app import create_app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("SUPPORTBOT_MODEL", ROOT / "models" / "supportbot.tar.gz"))
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
API_TOKEN = "integration-test-token-0123456789"
IDENTITY_SECRET = "integration-identity-secret-0123456789"
AGENT_TOKEN = "integration-agent-token-0123456789"
WEB_PORT = 8765  # only used as the allowed socket.io origin; the web app runs in-process
STARTUP_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    def say(self, sender: str, text: str) -> list[dict]:
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists() or not RASA.exists():
        pytest.skip(f"needs a trained model at {MODEL} and {RASA} (run `make train`)")
    work = tmp_path_factory.mktemp("stack")
    crm_url = f"sqlite:///{work / 'crm.db'}"
    migrate(crm_url)
    with crm_session(crm_url) as crm:
        seed_demo_data(crm.session, customers=20)
    action_port, rasa_port = free_port(), free_port()
    rasa_side = Settings.from_env(
        {
            "SUPPORTBOT_DATA_DIR": str(work),
            "SUPPORTBOT_ACTION_PORT": str(action_port),
            "SUPPORTBOT_WEB_PORT": str(WEB_PORT),
        }
    ).rasa_environment
    env = {
        **os.environ,
        **rasa_side,
        "SUPPORTBOT_DATABASE_URL": crm_url,
        "SUPPORTBOT_IDENTITY_SECRET": IDENTITY_SECRET,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    logs = [work / "actions.log", work / "rasa.log"]
    commands = [
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
        [
            str(RASA),
            "run",
            "--enable-api",
            "--auth-token",
            API_TOKEN,
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


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def test_verified_customer_tracks_an_order_over_rest(stack: Stack) -> None:
    sender = "it-track-0001"
    assert "support assistant" in texts(stack.say(sender, "hello"))
    assert "order number" in texts(stack.say(sender, "where is my order?"))
    assert "email address" in texts(stack.say(sender, "100001"))
    reply = texts(stack.say(sender, "ada@example.com"))

    assert "you're verified" in reply
    assert "100001 has shipped with UPS, tracking number 1Z999AA10123456784" in reply
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute(
            "select count(*) from events where sender_id = ? and type_name = 'user'", (sender,)
        ).fetchone()[0]
    assert rows == 4
    with crm_session(stack.crm_url) as crm:
        ada = crm.customers.find_by_email("ada@example.com")
        assert ada is not None
        assert crm.interactions.verified_customer_id(sender) == ada.id
        assert crm.interactions.start_or_get(sender).intents[:2] == ["greet", "track_order"]


def test_injected_intent_for_someone_elses_order_reveals_nothing(stack: Stack) -> None:
    sender = "it-inject-0001"
    reply = texts(stack.say(sender, '/track_order{"order_id":"100002"}'))
    assert "email address" in reply
    reply = texts(stack.say(sender, "ada@example.com"))
    assert "don't match" in reply
    assert "being prepared" not in reply


async def test_handoff_agent_reply_and_resume(stack: Stack) -> None:
    sender = "it-handoff-0001"
    reply = texts(stack.say(sender, "I want to talk to a human"))
    assert "connecting you with a person" in reply

    assert stack.say(sender, "hello? anyone there?") == []  # paused: the bot stays quiet

    rasa = RasaClient(stack.rasa_url, API_TOKEN)
    await rasa.post_agent_reply(sender, "Hi, this is Sam from support. How can I help?")
    transcript = await rasa.transcript(sender)
    assert transcript.paused
    assert [m.sender for m in transcript.messages][-2:] == ["customer", "agent"]

    await rasa.resume(sender)
    assert not (await rasa.transcript(sender)).paused
    assert "order number" in texts(stack.say(sender, "can you track my order"))
    with crm_session(stack.crm_url) as crm:
        interaction = crm.interactions.start_or_get(sender)
        assert interaction.handoff is True and interaction.handoff_ticket_id is not None


def web_client(stack: Stack) -> httpx.AsyncClient:
    """The real web app, in-process, in front of the real Rasa server."""
    settings = Settings(
        rasa_url=stack.rasa_url,
        rasa_api_token=API_TOKEN,
        session_secret="integration-session-secret-0123456789",
        agent_api_token=AGENT_TOKEN,
        identity_secret=IDENTITY_SECRET,
        database_url=stack.crm_url,
        demo_pages=True,
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)),
        base_url="http://testserver",
        timeout=60,
    )


async def test_widget_api_with_a_signed_token_handoff_and_agent_reply(stack: Stack) -> None:
    async with web_client(stack) as web:
        page = (await web.get("/demo/ada")).text
        token = page.split('data-customer-token="', 1)[1].split('"', 1)[0]

        hello = await web.post(
            "/api/chat/messages", json={"text": "hello", "customer_token": token}
        )
        assert hello.status_code == 200, hello.text
        assert "Hi Ada" in hello.json()["messages"][-1]["text"]

        track = await web.post(
            "/api/chat/messages",
            json={"text": "track order 100001", "after": hello.json()["total"]},
        )
        assert "tracking number 1Z999AA10123456784" in track.json()["messages"][-1]["text"]

        handoff = (
            await web.post(
                "/api/chat/messages",
                json={"text": "I want to talk to a human", "after": track.json()["total"]},
            )
        ).json()
        assert handoff["paused"] is True
        sender = web.cookies["supportbot_conversation"].split(".")[0]
        sent = await web.post(
            f"/api/agent/conversations/{sender}/messages",
            headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
            json={"text": "Hi Ada, Sam here."},
        )
        assert sent.status_code == 200
        polled = (await web.get("/api/chat/messages", params={"after": handoff["total"]})).json()
        assert [(m["sender"], m["text"]) for m in polled["messages"]] == [
            ("agent", "Hi Ada, Sam here.")
        ]


@pytest.mark.parametrize(
    ("origin", "allowed"), [(f"http://127.0.0.1:{WEB_PORT}", True), ("http://evil.test", False)]
)
def test_socketio_checks_the_origin(stack: Stack, origin: str, allowed: bool) -> None:
    response = httpx.get(
        f"{stack.rasa_url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=10,
    )
    assert (response.status_code == 200) is allowed
