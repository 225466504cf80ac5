"""The locked-down action server (actions/server.py), run as `supportbot run` starts it: each
attack on the open rasa-sdk server of issue 15 is replayed and refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.stack import ROOT, free_port

SECRET = "action-server-test-secret-0123456789"
# What a forged call carries: none of it may come back in an answer.
FORGED_CALL = {
    "next_action": "validate_track_order_form",
    "sender_id": "forged-sender-0001",
    "tracker": {"sender_id": "forged-sender-0001", "slots": {"email": "grace@example.com"}},
    "version": "3.6.21",
}


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SUPPORTBOT_") or name == "SUPPORTBOT_MODEL"
    }
    # A data dir of its own: the checkout's var/local-secrets.env must not supply the secret.
    return {
        **env,
        "SUPPORTBOT_DATA_DIR": str(tmp_path),
        "SUPPORTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}",
        **extra,
    }


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("action-server")
    port = free_port()
    log = (tmp_path / "actions.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(port)],
        cwd=ROOT,
        env=_environment(tmp_path, SUPPORTBOT_ACTION_SECRET=SECRET),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "actions.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the action server did not start"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _with_secret(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_health_answers_without_the_secret_and_says_nothing(action_server: str) -> None:
    response = httpx.get(f"{action_server}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _with_secret("wrong-secret-0123456789-0123456789"),
        _with_secret(SECRET[:-1]),
        {"Authorization": SECRET},  # the secret, but not as a bearer credential
        {"X-Action-Secret": SECRET},
    ],
    ids=["none", "wrong", "prefix", "not-bearer", "other-header"],
)
def test_a_forged_action_call_is_refused(action_server: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{action_server}/webhook", json=FORGED_CALL, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_the_action_list_needs_the_secret(action_server: str) -> None:
    refused = httpx.get(f"{action_server}/actions")
    assert refused.status_code == 401
    assert "action_" not in refused.text

    listed = httpx.get(f"{action_server}/actions", headers=_with_secret())
    assert listed.status_code == 200
    assert {"name": "action_show_invoices"} in listed.json()


def test_unknown_paths_need_the_secret_too(action_server: str) -> None:
    assert httpx.get(f"{action_server}/webhook/../admin").status_code == 401
    assert httpx.get(f"{action_server}/no-such-path", headers=_with_secret()).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b'{"next_action": "action_show_invoices", "email": "grace@example.com", ',  # not JSON
        b'["grace@example.com"]',  # JSON, but not an action call: rasa-sdk fails with a 500
    ],
    ids=["malformed", "not-an-object"],
)
def test_an_error_body_carries_no_request_data(action_server: str, body: bytes) -> None:
    response = httpx.post(
        f"{action_server}/webhook",
        content=body,
        headers={**_with_secret(), "Content-Type": "application/json"},
    )
    assert response.status_code in {400, 500}
    assert "grace" not in response.text
    assert "request_body" not in response.text
    assert set(response.json()) == {"error"}


def test_a_call_with_the_secret_runs_the_action(action_server: str) -> None:
    call = {
        "next_action": "action_no_such_thing",
        "sender_id": "it-secret-0001",
        "tracker": {"sender_id": "it-secret-0001", "events": [], "slots": {}},
        "version": "3.6.21",
    }
    response = httpx.post(f"{action_server}/webhook", json=call, headers=_with_secret())
    # Past the secret, rasa-sdk's own protocol answers (here: no such action).
    assert response.status_code == 404


def test_the_redaction_route_masks_the_stored_types_for_rasa(action_server: str) -> None:
    texts = [
        "card 4111 1111 1111 1111, write to ada.customer@example.com",
        "IBAN DE89370400440532013000 or call +1 415 555 0132 about order 100004",
        "thanks, that's all",
    ]
    refused = httpx.post(f"{action_server}/privacy/redact", json={"texts": texts})
    assert refused.status_code == 401
    assert "4111" not in refused.text

    response = httpx.post(
        f"{action_server}/privacy/redact", json={"texts": texts}, headers=_with_secret()
    )
    assert response.status_code == 200
    assert response.json() == {
        "texts": [
            "card <CREDIT_CARD>, write to <EMAIL_ADDRESS>",
            "IBAN <IBAN_CODE> or call <PHONE_NUMBER> about order 100004",
            "thanks, that's all",
        ]
    }


@pytest.mark.parametrize(
    "body", [b"", b'{"texts": "4111 1111 1111 1111"}', b'{"texts": [4111]}', b"[1, 2"]
)
def test_the_redaction_route_refuses_anything_but_a_list_of_texts(
    action_server: str, body: bytes
) -> None:
    response = httpx.post(
        f"{action_server}/privacy/redact",
        content=body,
        headers={**_with_secret(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "4111" not in response.text


def test_it_listens_on_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.rsplit(":", 1)
            if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
                listening.add(address)
    assert listening == {"0100007F"}  # 127.0.0.1, and not 0.0.0.0 or ::


def test_it_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "actions.server", "--port", str(free_port())],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "SUPPORTBOT_ACTION_SECRET is not set" in done.stderr
