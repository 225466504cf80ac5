"""Issue 15, item 5: the legacy agent API under /api/agent, guarded by one static bearer token,
let anyone post "as Security Team" into any conversation. It is gone: no route answers there,
whatever the token, and the token is no setting any more."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from supportbot.settings import SECRET_VARIABLES, Settings
from supportbot.web.app import create_app
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

SENDER = "never-handed-off"
# What the attacker sent: the old token's value no longer means anything.
OLD_TOKEN = {"Authorization": "Bearer agent-api-token-for-tests-0123456789"}
PHISHING = {
    "text": "Your account is locked: [verify here](https://evil.example/login)",
    "agent_name": "Security Team",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/agent/conversations/{SENDER}/messages"),
        ("POST", f"/api/agent/conversations/{SENDER}/resume"),
        ("GET", f"/api/agent/conversations/{SENDER}"),
    ],
)
def test_the_attack_finds_no_route(web: TestClient, rasa: FakeRasa, method: str, path: str):
    rasa.events[SENDER] = [{"event": "user", "text": "hi", "timestamp": 1.0}]

    response = web.request(method, path, headers=OLD_TOKEN, json=PHISHING)

    assert response.status_code == 404
    assert rasa.events[SENDER] == [{"event": "user", "text": "hi", "timestamp": 1.0}]
    assert not rasa.paused.get(SENDER)


def test_no_route_is_left_under_api_agent(web: TestClient):
    paths = [r.path for r in web.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    assert not [p for p in paths if p.startswith("/api/agent")]


def test_the_static_token_is_no_setting_and_the_audit_key_is_required(rasa: FakeRasa):
    assert "SUPPORTBOT_AGENT_TOKEN" not in SECRET_VARIABLES.values()
    assert "SUPPORTBOT_AUDIT_SECRET" in SECRET_VARIABLES.values()
    assert not hasattr(Settings(), "agent_api_token")
    with pytest.raises(ValueError, match="SUPPORTBOT_AUDIT_SECRET is not set"):
        create_app(make_settings(audit_secret=None))
    assert client_for(rasa, make_settings()).get("/healthz").status_code == 200
