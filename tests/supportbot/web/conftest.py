"""Web app tests: the real app over a small fake of Rasa's HTTP API (Rasa itself runs in the
integration test), with a real seeded SQLite CRM where pages need one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from common.channel_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_request
from supportbot.rasa_client import RasaClient
from supportbot.settings import Settings
from supportbot.web.app import create_app
from tests.conftest import IDENTITY_SECRET

RASA_TOKEN = "rasa-api-token-for-tests-0123456789"
AUDIT_SECRET = "audit-secret-for-tests-0123456789"
SESSION_SECRET = "session-secret-for-tests-0123456789"
_TRACKER_PATH = re.compile(r"^/conversations/([^/]+)/tracker(/events)?$")


@dataclass
class FakeRasa:
    """Just enough of Rasa's REST channel and HTTP API: it echoes, and pauses on "human". Like
    the real server, it answers only signed messages and the API token only in a header."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    paused: dict[str, bool] = field(default_factory=dict)
    received_metadata: list[dict[str, Any]] = field(default_factory=list)
    # The browser address the web app forwarded with each message.
    client_addresses: list[str | None] = field(default_factory=list)
    # The query parameters of each append (how the events were delivered).
    append_params: list[dict[str, str]] = field(default_factory=list)
    down: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused")
        if "token" in request.url.params:
            return httpx.Response(401)
        if request.url.path == "/webhooks/rest/webhook":
            timestamp = request.headers.get(TIMESTAMP_HEADER)
            signature = request.headers.get(SIGNATURE_HEADER)
            if not verify_request(request.content, timestamp, signature, SESSION_SECRET):
                return httpx.Response(401)
            body = json.loads(request.content)
            return httpx.Response(200, json=self._message(body))
        match = _TRACKER_PATH.match(request.url.path)
        if match is None:
            return httpx.Response(404)
        if request.headers.get("authorization") != f"Bearer {RASA_TOKEN}":
            return httpx.Response(401)
        sender = match.group(1)
        if match.group(2) and request.method == "POST":
            self.append_params.append(dict(request.url.params))
            for event in json.loads(request.content):
                if event["event"] in ("pause", "resume"):
                    self.paused[sender] = event["event"] == "pause"
                self.events.setdefault(sender, []).append(event)
            return httpx.Response(200, json={})
        return httpx.Response(
            200,
            json={"events": self.events.get(sender, []), "paused": self.paused.get(sender, False)},
        )

    def _message(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        sender, text = body["sender"], body["message"]
        self.received_metadata.append(body.get("metadata") or {})
        self.client_addresses.append(body.get("client_address"))
        log = self.events.setdefault(sender, [])
        log.append({"event": "user", "text": text, "timestamp": 1.0})
        if self.paused.get(sender):
            return []
        reply = f"echo: {text}"
        if "human" in text:
            self.paused[sender] = True
            reply = "I'm connecting you with a person."
        log.append({"event": "bot", "text": reply, "timestamp": 2.0})
        return [{"recipient_id": sender, "text": reply}]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "rasa_api_token": RASA_TOKEN,
        "audit_secret": AUDIT_SECRET,
        "session_secret": SESSION_SECRET,
        "identity_secret": IDENTITY_SECRET,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


# A browser on the web app's own machine, as the demo pages require.
ON_LOOPBACK: dict[str, Any] = {"base_url": "http://127.0.0.1:8000", "client": ("127.0.0.1", 50000)}


def client_for(rasa: FakeRasa, settings: Settings, **client_options: Any) -> TestClient:
    client = RasaClient(
        "http://rasa.test",
        settings.rasa_api_token,
        session_secret=settings.session_secret,
        transport=httpx.MockTransport(rasa.handle),
    )
    return TestClient(create_app(settings, rasa=client), **client_options)


@pytest.fixture
def web(rasa: FakeRasa) -> TestClient:
    return client_for(rasa, make_settings())
